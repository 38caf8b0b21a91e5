"""What the API may see and steer of the running service (``binbot run``).

The API depends on this Protocol, never on the engine's classes; ``binbot serve`` (read-only over a
database) runs the same API with no runtime at all, and every control answers 409 there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class UnknownBot(KeyError):
    """No bot with that id."""


class ControlRefused(RuntimeError):
    """The control cannot be applied in the bot's current state (e.g. resume a halted bot)."""


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
