"""The risk gate every order passes, and the limits a bot trades under.

Trading states (reliability.md §1 rule 7): ACTIVE, REDUCING (only orders that reduce the
position), HALTED (nothing but cancels). The gate's effective state is the most restrictive of
three sources, kept apart so that one lifting does not lift the others:

- the operator's state (``set_state``);
- the kill switch (``trip_kill_switch``): HALTED until ``reset_kill_switch``; it is part of the
  snapshot, so it survives a restart;
- the daily block (``block_entries``): REDUCING until the end of the UTC day, set when the daily
  target or the daily loss limit is reached (``RiskMonitor`` decides when).

Pre-trade checks (``admit``), in this order, each with a rule name reported on rejection:
``halted``, ``not_running``, ``reducing``, ``filters`` (the instrument's filters), then for
orders that do not reduce the position only: ``rate_limit`` (``max_orders`` admitted orders per
rolling ``orders_window_s``, in the bot's market time), ``max_order_notional``,
``max_position`` (position notional after the order <= ``max_position_share`` x the larger of
capital and equity x leverage) and ``max_leverage`` (position notional after the order <=
``max_leverage`` x equity). The position cap follows the equity up: a strategy sizing its
entries from its equity (BOLL's default, 0.9 x equity x leverage) would otherwise see every
entry refused once its profits took the equity past capital / 0.9.
An order reduces the position when it is reduce-only or trades against the position without
flipping it; such orders pass everything but HALTED and the filters.

The price-driven limits of ``RiskLimits`` (stop loss, take profit, trailing stop, daily target
and loss, maximum drawdown) are watched by ``binbot.engine.risk_monitor.RiskMonitor``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from binbot.domain.instrument import FilterViolation, Instrument
from binbot.domain.orders import LIMIT, ZERO, OrderIntent
from binbot.domain.values import fast_init

# Rule names carried by rejections and risk events.
NOT_RUNNING: Final = "not_running"
HALTED_RULE: Final = "halted"
REDUCING_RULE: Final = "reducing"
FILTERS: Final = "filters"
RATE_LIMIT: Final = "rate_limit"
MAX_ORDER_NOTIONAL: Final = "max_order_notional"
MAX_POSITION: Final = "max_position"
MAX_LEVERAGE: Final = "max_leverage"


class TradingState(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


# Module names for the states every order tests (an enum member read through its class is an
# unspecialised lookup on Python 3.11; see ``binbot.domain.orders``).
_ACTIVE: Final = TradingState.ACTIVE
_REDUCING: Final = TradingState.REDUCING
_HALTED: Final = TradingState.HALTED


class RiskLimitsError(ValueError):
    """Bad risk settings; the message names each field and the value it was given."""


_EXCLUSIVE: Final = (
    ("stop_loss_pct", "stop_loss_atr"),
    ("take_profit_pct", "take_profit_atr"),
    ("trailing_stop_pct", "trailing_stop_atr"),
)


class RiskLimits(BaseModel):
    """A bot's risk limits; every one is off unless set. Percentages are in percent (2 = 2%).

    Pre-trade (``RiskGate``):
    - ``max_position_share``: largest position notional as a share of capital x leverage, or
      of equity x leverage once the equity is above the capital (profits raise the cap).
    - ``max_order_notional``: largest order notional, in quote.
    - ``max_leverage``: largest position notional as a multiple of the bot's equity.
    - ``max_orders`` per ``orders_window_s`` seconds (rolling, market time): an order rate limit.

    Watched on every price, enforced by the engine with a reduce-only market order
    (``RiskMonitor``):
    - ``stop_loss_pct`` / ``stop_loss_atr``: exit when the price moves that far against the
      average entry price (percent of it, or multiples of the ATR when the position was last
      changed). One of the two.
    - ``take_profit_pct`` / ``take_profit_atr``: exit when the price moves that far in favour.
    - ``trailing_stop_pct`` / ``trailing_stop_atr``: exit when the price falls back that far
      from the best price since the position was opened.
    - ``atr_period``: the ATR (Wilder, on the bot's closed candles) the ``*_atr`` limits use.
    - ``daily_target_pct``: once equity is that much above its value at the start of the UTC
      day, no new positions until the day ends (``daily_target_flatten``: also exit).
    - ``daily_loss_pct``: the same on the way down (``daily_loss_flatten``: also exit).
    - ``max_drawdown_pct``: the kill switch. Once equity falls that far below its peak the bot
      cancels its orders, exits, goes HALTED and pauses, until ``BotCore.resume_trading``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_position_share: Decimal = Field(Decimal(1), gt=0, allow_inf_nan=False)
    max_order_notional: Decimal | None = Field(None, gt=0, allow_inf_nan=False)
    max_leverage: Decimal | None = Field(None, gt=0, allow_inf_nan=False)
    stop_loss_pct: float | None = Field(None, gt=0, lt=100, allow_inf_nan=False)
    stop_loss_atr: float | None = Field(None, gt=0, allow_inf_nan=False)
    take_profit_pct: float | None = Field(None, gt=0, allow_inf_nan=False)
    take_profit_atr: float | None = Field(None, gt=0, allow_inf_nan=False)
    trailing_stop_pct: float | None = Field(None, gt=0, lt=100, allow_inf_nan=False)
    trailing_stop_atr: float | None = Field(None, gt=0, allow_inf_nan=False)
    atr_period: int = Field(14, ge=1, le=1000)
    daily_target_pct: float | None = Field(None, gt=0, allow_inf_nan=False)
    daily_target_flatten: bool = False
    daily_loss_pct: float | None = Field(None, gt=0, lt=100, allow_inf_nan=False)
    daily_loss_flatten: bool = False
    max_drawdown_pct: float | None = Field(None, gt=0, lt=100, allow_inf_nan=False)
    max_orders: int | None = Field(None, ge=1)
    orders_window_s: float = Field(60.0, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_of_each_pair(self) -> RiskLimits:
        for pct, atr in _EXCLUSIVE:
            if getattr(self, pct) is not None and getattr(self, atr) is not None:
                raise ValueError(f"give {pct} or {atr}, not both")
        return self

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> RiskLimits:
        """Validate plain settings (the config file, the bots API); ``RiskLimitsError`` names
        every offending field."""
        try:
            return cls.model_validate(dict(raw or {}))
        except ValidationError as e:
            problems = []
            for error in e.errors():
                name = ".".join(str(part) for part in error["loc"])
                message = str(error["msg"]).removeprefix("Value error, ")
                if error["type"] == "extra_forbidden":
                    problems.append(f"unknown risk setting {name!r}")
                elif name:
                    problems.append(f"risk setting {name!r}: {message}, was {error['input']!r}")
                else:
                    problems.append(f"risk settings: {message}")
            raise RiskLimitsError("; ".join(problems)) from None

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-able data (only what differs from the defaults)."""
        return self.model_dump(mode="json", exclude_defaults=True)

    @property
    def uses_atr(self) -> bool:
        return any(v is not None for v in (self.stop_loss_atr, self.take_profit_atr,
                                             self.trailing_stop_atr))

    @property
    def daily(self) -> bool:
        return self.daily_target_pct is not None or self.daily_loss_pct is not None

    @property
    def watches_prices(self) -> bool:
        """True when some limit must see every price (``RiskMonitor`` has work to do)."""
        exits = (self.stop_loss_pct, self.stop_loss_atr, self.take_profit_pct,
                 self.take_profit_atr, self.trailing_stop_pct, self.trailing_stop_atr)
        return (self.daily or self.max_drawdown_pct is not None
                or any(v is not None for v in exits))


@fast_init
@dataclass(frozen=True, slots=True)
class RiskInput:
    """What the gate needs to know about the bot at the time of the order."""

    running: bool
    price: Decimal
    position_qty: Decimal
    capital: Decimal
    leverage: int
    equity: Decimal | None = None  # max_leverage; max_position when above capital
    time: int = 0  # market time (ms), for the rate limit and the daily block


@fast_init
@dataclass(frozen=True, slots=True)
class Rejection:
    """Why the gate refused an order: the rule's name and a readable reason."""

    rule: str
    reason: str


class RiskGate:
    """Decides whether an intent may be sent (see the module docstring)."""

    def __init__(self, instrument: Instrument, limits: RiskLimits | None = None) -> None:
        self.instrument = instrument
        self.limits = limits or RiskLimits()
        self._manual = _ACTIVE
        self._manual_reason = ""
        self.kill_switch = ""  # the reason it tripped; "" when not tripped
        self.block_reason = ""  # the daily block's reason; "" when entries are allowed
        self.block_until = 0  # ms: the daily block ends at this market time
        # Market data went silent: no new entries until prices flow again (not persisted: a
        # restarted bot starts with fresh data or finds out again).
        self.stale_reason = ""
        self._sent: deque[int] = deque()  # market times of admitted orders (rate limit)

    # -- states --------------------------------------------------------------------------

    @property
    def state(self) -> TradingState:
        if self._manual is _HALTED or self.kill_switch:
            return _HALTED
        if self._manual is _REDUCING or self.block_reason or self.stale_reason:
            return _REDUCING
        return _ACTIVE

    @property
    def state_reason(self) -> str:
        if self._manual is _HALTED:
            return self._manual_reason
        if self.kill_switch:
            return self.kill_switch
        if self._manual is _REDUCING:
            return self._manual_reason
        return self.block_reason or self.stale_reason

    def set_state(self, state: TradingState, reason: str = "") -> None:
        """The operator's state (the kill switch and the daily block are kept apart)."""
        self._manual = state
        self._manual_reason = reason

    def trip_kill_switch(self, reason: str) -> None:
        self.kill_switch = reason or "kill switch"

    def reset_kill_switch(self) -> None:
        self.kill_switch = ""

    def block_entries(self, reason: str, until_ms: int) -> None:
        """No new positions before ``until_ms`` (market time)."""
        self.block_reason = reason
        self.block_until = until_ms

    def clear_block(self) -> None:
        self.block_reason = ""
        self.block_until = 0

    def mark_stale(self, reason: str) -> None:
        """Block new entries (exits and cancels stay allowed) while market data is stale."""
        self.stale_reason = reason or "market data stale"

    def mark_fresh(self) -> None:
        self.stale_reason = ""

    # -- checks --------------------------------------------------------------------------

    def check(self, intent: OrderIntent, bot: RiskInput) -> str:
        """"" when ``intent`` may be sent, else the reason (records it like ``admit``)."""
        rejection = self.admit(intent, bot)
        return "" if rejection is None else rejection.reason

    def admit(self, intent: OrderIntent, bot: RiskInput) -> Rejection | None:
        """None when ``intent`` may be sent (it then counts towards the rate limit)."""
        rejection = self._evaluate(intent, bot)
        if rejection is None and self.limits.max_orders is not None:
            self._sent.append(bot.time)
            self._forget_before(bot.time)
        return rejection

    def _forget_before(self, now: int) -> None:
        """Drop admitted orders that left the rate limit's window."""
        assert self.limits.max_orders is not None  # noqa: S101 - only called with a rate limit
        window = round(self.limits.orders_window_s * 1000)
        sent = self._sent
        while sent and sent[0] <= now - window:
            sent.popleft()

    def _evaluate(self, intent: OrderIntent, bot: RiskInput) -> Rejection | None:
        if self.block_reason and bot.time >= self.block_until:
            self.clear_block()  # the day it was set for is over
        state = self.state
        if state is _HALTED:  # first: the most telling reason for a halted bot
            return Rejection(HALTED_RULE, _with_reason("trading halted", self.state_reason))
        if not bot.running:
            return Rejection(NOT_RUNNING, "bot is not running")
        reduces = self._reduces(intent, bot.position_qty)
        if state is _REDUCING and not reduces:
            return Rejection(REDUCING_RULE,
                             _with_reason("only reducing orders allowed", self.state_reason))
        price = intent.price if intent.type is LIMIT else intent.stop_price
        reference = price if price is not None else bot.price
        try:
            self.instrument.check(reference, intent.quantity,
                                  market_order=intent.type is not LIMIT,
                                  reduce_only=intent.reduce_only)
        except FilterViolation as e:
            return Rejection(FILTERS, str(e))
        if reduces:
            return None
        return self._exposure(intent, bot, reference)

    def _exposure(self, intent: OrderIntent, bot: RiskInput,
                  reference: Decimal) -> Rejection | None:
        limits = self.limits
        if limits.max_orders is not None:
            self._forget_before(bot.time)
            if len(self._sent) >= limits.max_orders:
                return Rejection(RATE_LIMIT, f"order rate limit: {limits.max_orders} orders "
                                             f"in {limits.orders_window_s:g}s")
        notional = reference * intent.quantity
        cap = limits.max_order_notional
        if cap is not None and notional > cap:
            return Rejection(MAX_ORDER_NOTIONAL, f"order notional above {cap}, was {notional}")
        after = abs(bot.position_qty + intent.signed_quantity) * reference
        base = bot.capital
        if bot.equity is not None and bot.equity > base:
            base = bot.equity  # the cap grows with the profits (see the module docstring)
        limit = limits.max_position_share * base * bot.leverage
        if after > limit:
            return Rejection(MAX_POSITION, f"position notional above {limit}, was {after}")
        if limits.max_leverage is not None and bot.equity is not None:
            allowed = limits.max_leverage * max(bot.equity, ZERO)
            if after > allowed:
                return Rejection(MAX_LEVERAGE, f"position notional above {limits.max_leverage}"
                                               f" x equity = {allowed}, was {after}")
        return None

    @staticmethod
    def _reduces(intent: OrderIntent, position_qty: Decimal) -> bool:
        if intent.reduce_only:
            return True
        signed = intent.signed_quantity
        return position_qty != ZERO and (position_qty > ZERO) != (signed > ZERO) and (
            abs(signed) <= abs(position_qty)
        )

    # -- persistence ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self._manual.value,
            "reason": self._manual_reason,
            "kill_switch": self.kill_switch,
            "block_reason": self.block_reason,
            "block_until": self.block_until,
            "sent": list(self._sent),
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Reload a ``snapshot`` (older snapshots carry only ``state`` and ``reason``)."""
        self.set_state(TradingState(data["state"]), str(data.get("reason", "")))
        self.kill_switch = str(data.get("kill_switch", ""))
        self.block_reason = str(data.get("block_reason", ""))
        self.block_until = int(data.get("block_until", 0))
        self._sent = deque(int(t) for t in data.get("sent", ()))


def _with_reason(text: str, reason: str) -> str:
    return f"{text}: {reason}" if reason else text
