"""The engine: ``BotCore`` (strategy + candles + portfolio + risk gate, no I/O).

Public API: ``BotCore``, ``BotStatus``, ``Portfolio``, ``RiskGate``, ``RiskLimits``,
``TradingState`` and the bot events in ``binbot.engine.events``.
"""

from binbot.engine.bot import BotCore, BotStatus
from binbot.engine.portfolio import Portfolio
from binbot.engine.risk import RiskGate, RiskInput, RiskLimits, TradingState

__all__ = [
    "BotCore",
    "BotStatus",
    "Portfolio",
    "RiskGate",
    "RiskInput",
    "RiskLimits",
    "TradingState",
]
