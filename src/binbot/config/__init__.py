"""One typed, validated config tree.

Sources, lowest first: ``binbot.toml``, ``.env``, environment (``BINBOT_SECTION__KEY``).
"""

from binbot.config.settings import (
    ApiSettings,
    BotSettings,
    DatabaseSettings,
    ExchangeSettings,
    HistorySettings,
    LoggingSettings,
    MarketDataSettings,
    PaperSettings,
    Settings,
    load_settings,
)

__all__ = [
    "ApiSettings",
    "BotSettings",
    "DatabaseSettings",
    "ExchangeSettings",
    "HistorySettings",
    "LoggingSettings",
    "MarketDataSettings",
    "PaperSettings",
    "Settings",
    "load_settings",
]
