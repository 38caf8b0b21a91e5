"""What the API may see and steer of the running service (``binbot run``).

The API depends on this Protocol, never on the engine's classes; ``binbot serve`` (read-only over a
database) runs the same API with no runtime at all, and every control answers 409 there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from binbot.config.settings import BotSettings


class UnknownBot(KeyError):
    """No bot with that id."""


class ControlRefused(RuntimeError):
    """The control cannot be applied in the bot's current state (e.g. resume a halted bot)."""


class BotDefinitionError(ValueError):
    """The bot cannot be created as asked (unknown strategy or symbol, bad parameters, a mode
    that cannot run yet); the message says why. Nothing was created."""


class DuplicateBot(ValueError):
    """A bot with that id exists already. Nothing was created."""


@dataclass(frozen=True, slots=True)
class BotView:
    """A bot's live status; money as decimal strings, exactly as the ledger holds them."""

    bot_id: str
    market: str
    symbol: str
    interval: str
    strategy: str
    params: dict[str, object]
    mode: str
    status: str  # running | paused | stopped | halted
    capital: str
    equity: str
    realized_pnl: str
    unrealized_pnl: str
    fees: str
    position_qty: str
    entry_price: str
    last_price: float | None
    trades: int
    winning_trades: int
    last_error: str | None = None
    indicators: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamHealth:
    stream: str
    last_event_ms: int | None
    stale: bool


@dataclass(frozen=True, slots=True)
class BotHealth:
    """One bot's feed and process health."""

    bot_id: str
    status: str
    active: bool  # subscribed to market data and processing it
    stale: bool  # its streams went silent
    last_event_ms: int | None  # market time of the last price it processed
    dropped_events: int  # market updates shed because it fell behind
    last_error: str | None


@dataclass(frozen=True, slots=True)
class RuntimeHealth:
    started_ms: int
    venue: str
    streams: tuple[StreamHealth, ...]
    dropped_events: int


class Runtime(Protocol):
    def bots(self) -> list[BotView]: ...

    def health(self) -> RuntimeHealth: ...

    async def pause(self, bot_id: str) -> BotView: ...

    async def resume(self, bot_id: str) -> BotView: ...

    async def stop(self, bot_id: str) -> BotView: ...

    async def close_position(self, bot_id: str) -> BotView: ...

    # -- the bots API ------------------------------------------------------------------------

    async def create_bot(self, bot: BotSettings, *, risk_per_trade: float | None = None
                         ) -> BotView:
        """Validate, store and (with ``auto_start``) start a new bot; ``BotDefinitionError`` or
        ``DuplicateBot`` when it cannot be created, and then nothing is."""
        ...

    async def start(self, bot_id: str) -> BotView:
        """Run a stopped, created or paused bot (``ControlRefused`` for a halted one)."""
        ...

    async def remove(self, bot_id: str, *, force: bool = False) -> None:
        """Stop the bot and delete it with its records (``ControlRefused`` for a bot of the
        config file, or one holding a position unless ``force``)."""
        ...

    async def start_all(self) -> list[BotView]: ...

    async def stop_all(self) -> list[BotView]: ...

    def risk_events(self, bot_id: str) -> list[dict[str, Any]]:
        """The bot's latest risk rejections and triggers, oldest first."""
        ...

    def bot_health(self) -> list[BotHealth]: ...
