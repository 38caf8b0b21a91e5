"""The bots API: create a bot, its statistics, the portfolio summary, per-bot health."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from binbot.api.routers.params import BOT_ID_PATTERN, INTERVAL_PATTERN, SYMBOL_PATTERN
from binbot.api.schemas.common import In, Out
from binbot.api.schemas.trading import BotOut

# Path words of the bots API that a bot id would shadow.
RESERVED_IDS = frozenset({"create", "health", "portfolio", "start-all", "stop-all"})


class BotCreateIn(In):
    """A new bot. Money may be sent as a number or, exactly, as a decimal string."""

    bot_id: str = Field(pattern=BOT_ID_PATTERN, description="1-32 of A-Z a-z 0-9 _ -")
    symbol: str = Field(pattern=SYMBOL_PATTERN, description="e.g. BTCUSDT")
    strategy_name: str = Field(min_length=1, max_length=64,
                               description="a built-in strategy: boll, rsi, macd_turtle, ma_cross")
    strategy_params: dict[str, Any] = Field(default_factory=dict)
    capital: Decimal = Field(gt=0, le=Decimal(10) ** 12, allow_inf_nan=False,
                             description="the bot's budget in the quote asset")
    risk_per_trade: float | None = Field(
        None, gt=0, le=1, allow_inf_nan=False,
        description="share of equity risked per unit, for strategies sizing by it")
    auto_start: bool = True
    market: Literal["usdm", "spot"] = "usdm"
    interval: str = Field("15m", pattern=INTERVAL_PATTERN)
    leverage: int = Field(1, ge=1, le=125)
    mode: Literal["paper", "testnet", "live"] = "paper"
    risk: dict[str, Any] = Field(default_factory=dict,
                                 description="risk limits, e.g. {\"max_drawdown_pct\": 10}")


class RiskEventOut(Out):
    bot_id: str
    time_ms: int
    kind: str  # rejected | triggered
    rule: str
    action: str  # reject | exit | block | halt
    reason: str
    side: str | None = None
    quantity: str | None = None
    client_order_id: str | None = None
    tag: str | None = None


class PositionSummary(Out):
    side: str  # long | short | flat
    quantity: str
    entry_price: str


class BotStatsOut(Out):
    bot_id: str
    status: str
    live: bool  # figures from the running engine (else from the database)
    symbol: str
    strategy: str
    mode: str
    capital: str
    equity: str | None
    realized_pnl: str | None
    unrealized_pnl: str | None
    total_pnl: str | None  # equity - capital
    fees: str | None
    trades: int  # closed trades (round trips)
    winning_trades: int
    win_rate: float | None
    position: PositionSummary
    last_price: float | None
    daily_return: float | None  # fraction of equity, in the bot's market time (UTC day)
    monthly_return: float | None
    as_of_ms: int | None  # market time the returns refer to
    risk_events: list[RiskEventOut]


class PortfolioSummaryOut(Out):
    bots_total: int
    bots_running: int
    total_capital: str
    total_equity: str
    combined_pnl: str  # equity - capital over all bots
    realized_pnl: str
    unrealized_pnl: str
    total_trades: int
    winning_trades: int
    win_rate: float | None


class BotHealthOut(Out):
    bot_id: str
    status: str
    active: bool
    stale: bool
    last_event_ms: int | None
    dropped_events: int
    last_error: str | None


class BotsHealthOut(Out):
    live: bool  # a runtime answers (binbot run), else the database's view (binbot serve)
    healthy: bool  # no active bot is stale or failing
    bots: list[BotHealthOut]


class RemovedOut(Out):
    bot_id: str
    removed: bool = True


__all__ = ["BotCreateIn", "BotHealthOut", "BotOut", "BotStatsOut", "BotsHealthOut",
           "PortfolioSummaryOut", "RemovedOut", "RiskEventOut"]
