"""The settings tree. Every section is frozen and rejects unknown keys."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from binbot.domain.market import INTERVALS, Market

Mode = Literal["paper", "testnet", "live"]
Venue = Literal["binance", "testnet", "demo", "local"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExchangeSettings(Section):
    """Which Binance (or the local exchange) to talk to."""

    venue: Venue = "binance"
    local_host: str = "127.0.0.1"
    local_port: int = Field(default=8765, ge=1, le=65535)
    recv_window_ms: int = Field(default=5000, ge=1, le=60000)
    request_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # Live bots trade real money: they only start when this is set explicitly.
    confirm_live: bool = False
    # USD-M orders (place/cancel) over REST or the lower-latency WebSocket API.
    order_transport: Literal["rest", "ws_api"] = "rest"


class MarketDataSettings(Section):
    """Stream supervision."""

    stale_after_s: float = Field(default=10.0, gt=0, le=3600)
    heartbeat_s: float = Field(default=30.0, gt=0, le=600)
    rotate_after_s: float = Field(default=23.5 * 3600, gt=60, le=24 * 3600)
    backoff_initial_s: float = Field(default=0.5, gt=0, le=60)
    backoff_max_s: float = Field(default=30.0, gt=0, le=600)
    streams_per_connection: int = Field(default=200, ge=1, le=1024)


class HistorySettings(Section):
    """How much history to fetch when the store lacks candles."""

    candles: int = Field(default=50, ge=1, le=1_000_000)
    days: float | None = Field(default=None, gt=0, le=3650)


class DatabaseSettings(Section):
    """``url`` empty means SQLite at ``<data_dir>/binbot.db``."""

    url: SecretStr | None = None
    batch_max_rows: int = Field(default=5000, ge=1)
    batch_max_delay_s: float = Field(default=0.25, gt=0, le=60)


class PaperSettings(Section):
    """The simulated account used in paper mode (and by backtests)."""

    starting_balance: Decimal = Field(default=Decimal("10000"), gt=0)
    quote_asset: str = "USDT"
    taker_fee: Decimal = Field(default=Decimal("0.0005"), ge=0, lt=Decimal("0.1"))
    maker_fee: Decimal = Field(default=Decimal("0.0002"), ge=0, lt=Decimal("0.1"))
    spot_taker_fee: Decimal = Field(default=Decimal("0.001"), ge=0, lt=Decimal("0.1"))
    spot_maker_fee: Decimal = Field(default=Decimal("0.001"), ge=0, lt=Decimal("0.1"))
    fill_price: Literal["last", "book"] = "last"
    slippage_bps: Decimal = Field(default=Decimal(0), ge=0, le=1000)
    # USD-M: value positions and check liquidation at the mark price stream (else last price).
    use_mark_price: bool = True


class BotSettings(Section):
    """One bot: a strategy instance with its own market, symbol, budget and parameters."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    market: Market = Market.USDM
    symbol: str = Field(default="BTCUSDT", pattern=r"^[A-Z0-9]{2,20}$")
    interval: str = "15m"
    strategy: str = "boll"
    params: dict[str, Any] = Field(default_factory=dict)
    capital: Decimal = Field(default=Decimal("1000"), gt=0)
    leverage: int = Field(default=1, ge=1, le=125)
    mode: Mode = "paper"
    # Risk limits (``binbot.engine.risk.RiskLimits``): every limit is off unless set here.
    risk: dict[str, Any] = Field(default_factory=dict)
    auto_start: bool = True

    @field_validator("risk")
    @classmethod
    def _valid_risk(cls, value: dict[str, Any]) -> dict[str, Any]:
        # Imported here: loading the settings must not pull in the engine.
        from binbot.engine.risk import RiskLimits

        # RiskLimitsError names every offending field and its value.
        return RiskLimits.from_dict(value).to_dict()

    @field_validator("interval")
    @classmethod
    def _known_interval(cls, value: str) -> str:
        if value not in INTERVALS:
            raise ValueError(f"unknown interval {value!r}; allowed: {', '.join(INTERVALS)}")
        return value


class ApiSettings(Section):
    """REST API and dashboard."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    auth: bool = True
    token: SecretStr | None = None
    cors_origins: tuple[str, ...] = ()
    allow_public_bind: bool = False
    # Read endpoints computed at most once per this many seconds for all clients (0: off);
    # pages get live changes over SSE meanwhile.
    read_cache_s: float = Field(default=1.0, ge=0, le=60)

    @model_validator(mode="after")
    def _no_open_public_bind(self) -> ApiSettings:
        loopback = self.host in ("127.0.0.1", "::1", "localhost")
        if not loopback and not self.auth:
            raise ValueError(f"refusing to bind {self.host} with authentication off")
        if not loopback and not self.allow_public_bind:
            raise ValueError(
                f"binding {self.host} exposes the API beyond this machine; "
                "set api.allow_public_bind = true (behind TLS) to allow it"
            )
        return self


class ServiceSettings(Section):
    """How the service runs under systemd (``deploy/auto_deploy.sh`` reads it)."""

    # Restart=on-failure in the unit; false writes Restart=no (e.g. while debugging).
    auto_restart: bool = True


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: str = "binbot.log"
    max_bytes: int = Field(default=10_000_000, ge=10_000)
    backups: int = Field(default=5, ge=0, le=100)


def _default_bots() -> tuple[BotSettings, ...]:
    return (BotSettings(id="boll-btcusdt"),)


class Settings(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix="BINBOT_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Path("data")
    exchange: ExchangeSettings = ExchangeSettings()
    market_data: MarketDataSettings = MarketDataSettings()
    history: HistorySettings = HistorySettings()
    database: DatabaseSettings = DatabaseSettings()
    paper: PaperSettings = PaperSettings()
    api: ApiSettings = ApiSettings()
    logging: LoggingSettings = LoggingSettings()
    service: ServiceSettings = ServiceSettings()
    bots: tuple[BotSettings, ...] = Field(default_factory=_default_bots)

    @model_validator(mode="after")
    def _unique_bot_ids(self) -> Settings:
        seen: set[str] = set()
        for bot in self.bots:
            if bot.id in seen:
                raise ValueError(f"duplicate bot id {bot.id!r}")
            seen.add(bot.id)
        return self

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL (the secret value; never log it)."""
        if self.database.url is not None and self.database.url.get_secret_value():
            return self.database.url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'binbot.db').resolve()}"


def _readable(path: Path) -> bool:
    """A file we may read; False (not an error) when the directory itself is unreadable, e.g.
    ``sudo -u binbot binbot ...`` run from someone's home directory."""
    try:
        return path.is_file()
    except OSError:
        return False


class _WithoutCredentials(PydanticBaseSettingsSource):
    """``.env`` also holds the Binance API keys (``BINBOT_BINANCE_...``), which are read by
    ``config.credentials`` and never enter the settings tree: drop them here instead of letting
    ``extra="forbid"`` reject the file."""

    def __init__(self, inner: PydanticBaseSettingsSource) -> None:
        super().__init__(inner.settings_cls)
        self._inner = inner

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        return {key: value for key, value in self._inner().items()
                if not key.startswith(_CREDENTIAL_PREFIX)}


_CREDENTIAL_PREFIX = "binbot_binance_"


def load_settings(
    config_file: Path | None = None,
    env_file: Path | None = Path(".env"),
    **overrides: Any,
) -> Settings:
    """Load settings from ``config_file`` (TOML), ``env_file`` and the environment.

    Precedence, highest first: ``overrides`` (CLI flags), environment, ``.env``, TOML, defaults.
    Raises ``pydantic.ValidationError`` (explained by ``binbot.config.errors``) or
    ``FileNotFoundError`` when an explicitly named config file is missing.
    """
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"config file not found: {config_file}")

    class _Loaded(Settings):
        model_config = SettingsConfigDict(
            toml_file=config_file,
            env_file=env_file if env_file is not None and _readable(env_file) else None,
        )

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings,
                                                         _WithoutCredentials(dotenv_settings)]
            if config_file is not None:
                sources.append(TomlConfigSettingsSource(settings_cls))
            return tuple(sources)

    loaded = _Loaded(**overrides)
    return Settings.model_validate(loaded.model_dump())
