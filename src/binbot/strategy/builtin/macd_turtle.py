"""MACD + turtle: MACD crossovers as entry signals, a moving-average alignment filter, turtle
unit sizing with pyramiding and ATR stops.

Signals are evaluated when a candle closes, on closed candles only:

- alignment: bullish when ``SMA(7) > SMA(20) > SMA(60) > SMA(120)`` (``ma_periods``, strictly
  ordered), bearish when reversed, none otherwise;
- a signal: the MACD line crossing its signal line: with ``s`` the sign of ``macd - signal``
  (0 within a relative 1e-9 of the close), up when the previous ``s <= 0`` and now ``s > 0``,
  down mirrored; a signal only counts in the direction of the alignment.

Position (units of ``unit`` base quantity, fixed when a trade opens):

- flat, aligned, with a signal: enter ``trial_units + signal_units`` (0.5 + 1.5 = 2 units);
- flat, the averages have just lined up (aligned now, not at the previous candle) without a
  signal: a trial entry of ``trial_units`` (0.5);
- holding the trial, a signal in its direction (alignment still in place): top up by
  ``signal_units`` (1.5);
- holding a topped-up position: one more unit (``add_units``) each candle that closes at least
  ``add_step_atr`` ATR beyond the last entry price, up to ``max_units`` (4);
- ``exit_on_cross``: a signal against the position (a MACD cross the other way, whatever the
  alignment) closes it; the flat rules then apply on the same candle (a reversal);
- the stop: ``stop_atr`` (2) ATR from the last entry's fill price, the ATR being the one when
  that entry was decided; watched on every real-time price (``on_price``), exit when touched.

Sizing, the turtle unit: ``unit = equity x risk_per_trade / ATR`` (so a 1-ATR move on one
unit is ``risk_per_trade`` of equity), then the leverage rule: ``unit <= E x leverage x
exposure / (max_units x price)`` with ``E = min(equity, capital)``, i.e. a full pyramid bought
at the entry price stays within ``exposure`` of what the leverage allows on the bot's money
(``leverage``: the bot's unless given; ``exposure`` leaves room for fees; capital caps E
because the risk gate's position limit is a share of capital). Each add is also cut to what
still fits under ``E x leverage x exposure`` at its price. ``unit_quantity`` fixes the unit
instead. Spot is long only.

The ATR is Wilder's over ``atr_period`` candles; the MACD is TA-Lib's (``binbot.indicators``).
Nothing happens before every indicator has a value (120 candles with the defaults), and no
trade opens while the ATR is zero. Ties
(``_ties``): averages within a relative 1e-9 of each other are not ordered; a move of at least
``add_step_atr`` ATR and a touch of the stop are judged with the same 1e-9 allowance, so the
rounding noise of two computations of the ATR cannot tell them apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from itertools import pairwise
from typing import Any, Final

from pydantic import Field, field_validator, model_validator

from binbot.domain.candle import Candle
from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.domain.orders import TERMINAL, Order
from binbot.indicators import ATR, MACD, SMA
from binbot.strategy.base import Strategy
from binbot.strategy.builtin._ties import TIE, above, below, sign
from binbot.strategy.params import StrategyParams

_NAN: Final = math.nan
_INF: Final = math.inf


class MacdTurtleParams(StrategyParams):
    """MACD + turtle parameters (periods in candles, units in turtle units)."""

    fast: int = Field(12, ge=1, le=1000)
    slow: int = Field(26, ge=2, le=1000)
    signal: int = Field(9, ge=1, le=1000)
    ma_periods: tuple[int, ...] = (7, 20, 60, 120)
    atr_period: int = Field(20, ge=1, le=1000)
    risk_per_trade: float = Field(0.01, gt=0, le=1, allow_inf_nan=False)
    trial_units: float = Field(0.5, gt=0, allow_inf_nan=False)
    signal_units: float = Field(1.5, ge=0, allow_inf_nan=False)
    add_units: float = Field(1.0, gt=0, allow_inf_nan=False)
    add_step_atr: float = Field(1.0, gt=0, allow_inf_nan=False)
    max_units: float = Field(4.0, gt=0, allow_inf_nan=False)
    stop_atr: float = Field(2.0, gt=0, allow_inf_nan=False)
    leverage: float | None = Field(None, gt=0, le=125, allow_inf_nan=False)
    exposure: float = Field(0.95, gt=0, le=1, allow_inf_nan=False)
    unit_quantity: Decimal | None = Field(None, gt=0)
    shorts: bool = True
    exit_on_cross: bool = True

    @field_validator("ma_periods")
    @classmethod
    def _increasing(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if len(value) < 2 or any(p < 1 for p in value):
            raise ValueError("needs at least two periods >= 1")
        if any(b <= a for a, b in pairwise(value)):
            raise ValueError("periods must be strictly increasing")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MacdTurtleParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast must be < slow ({self.slow}), was {self.fast}")
        if self.trial_units + self.signal_units > self.max_units:
            raise ValueError(f"trial_units + signal_units must be <= max_units "
                             f"({self.max_units}), was {self.trial_units + self.signal_units}")
        return self


def _alignment(values: list[float]) -> int | None:
    """+1 when strictly decreasing by period (bullish), -1 increasing, 0 neither; None while
    a value is missing."""
    if any(v != v for v in values):
        return None
    pairs = list(pairwise(values))
    if all(above(a, b) for a, b in pairs):
        return 1
    if all(below(a, b) for a, b in pairs):
        return -1
    return 0


class MacdTurtle(Strategy):
    """MACD signals, MA alignment, turtle units (see the module docstring)."""

    name = "macd_turtle"
    Params = MacdTurtleParams
    params: MacdTurtleParams

    def __init__(self, params: Mapping[str, Any] | StrategyParams | None = None) -> None:
        super().__init__(params)
        self._shorts = self.params.shorts
        self._build()
        # The trade (all floats; direction +1 long, -1 short, 0 flat).
        self.direction = 0
        self.units = 0.0
        self.unit = 0.0
        self.confirmed = False  # the signal units are in (pyramiding allowed)
        self.entry_atr = _NAN
        self.last_entry = _NAN
        self.stop = _NAN
        self._pending: dict[str, float] = {}  # open entry orders -> their units
        self._lo = -_INF  # on_price does nothing while lo < price < hi
        self._hi = _INF

    def _build(self) -> None:
        p = self.params
        self._smas = [SMA(n) for n in p.ma_periods]
        self._macd = MACD(p.fast, p.slow, p.signal)
        self._atr = ATR(p.atr_period)
        self.alignment: int | None = None
        self.macd_diff = _NAN  # MACD line - signal line at the last closed candle
        self.macd_sign: int | None = None  # its sign (None before the MACD has values)
        self.atr = _NAN

    # -- state ---------------------------------------------------------------------------

    def save_state(self) -> dict[str, Any]:
        return {**self.state, "direction": self.direction, "units": self.units,
                "unit": self.unit, "confirmed": self.confirmed,
                "entry_atr": _json(self.entry_atr), "last_entry": _json(self.last_entry),
                "stop": _json(self.stop)}

    def restore_state(self, state: Mapping[str, Any]) -> None:
        super().restore_state(state)
        direction = int(state.get("direction", 0))
        if direction not in (-1, 0, 1):
            raise ValueError(f"bad macd_turtle state, direction was {direction!r}")
        self.direction = direction
        self.units = float(state.get("units", 0.0))
        self.unit = float(state.get("unit", 0.0))
        self.confirmed = bool(state.get("confirmed", False))
        self.entry_atr = _float(state.get("entry_atr"))
        self.last_entry = _float(state.get("last_entry"))
        self.stop = _float(state.get("stop"))
        self._set_zone()

    # -- hooks ---------------------------------------------------------------------------

    def on_start(self) -> None:
        self._shorts = self.params.shorts and self.market is not Market.SPOT
        self._build()
        c = self.candles
        for h, lo, close in zip(c.high.tolist(), c.low.tolist(), c.close.tolist(), strict=True):
            self._update(h, lo, close)
        self._follow_position()

    def on_candle(self, candle: Candle) -> None:
        aligned_before, before = self.alignment, self.macd_sign
        self._update(candle.high, candle.low, candle.close)
        align, now, atr = self.alignment, self.macd_sign, self.atr
        if align is None or now is None or atr != atr or before is None:
            return
        self._follow_position()
        cross = 1 if before <= 0 < now else -1 if before >= 0 > now else 0
        close = candle.close
        p = self.params
        if self.direction and p.exit_on_cross and cross == -self.direction:
            self._exit("cross_exit")
        if self.direction == 0:
            lined_up = align != 0 and aligned_before is not None and aligned_before != align
            if align == -1 and not self._shorts:
                return
            if align != 0 and cross == align:
                self._open(align, p.trial_units + p.signal_units, close, atr, confirmed=True)
            elif lined_up:
                self._open(align, p.trial_units, close, atr, confirmed=False)
        elif not self.confirmed:
            if cross == self.direction and align == self.direction and p.signal_units > 0:
                self.confirmed = True
                self._add(p.signal_units, close, atr, "top_up")
        elif self.units < p.max_units:
            need = p.add_step_atr * self.entry_atr
            if (close - self.last_entry) * self.direction >= need - TIE * abs(need):
                self._add(min(p.add_units, p.max_units - self.units), close, atr, "pyramid")

    def on_price(self, price: float) -> None:
        if self._lo < price < self._hi:
            return
        self._exit("stop")

    def on_fill(self, fill: Fill) -> None:
        if fill.client_order_id in self._pending and self.direction:
            self.last_entry = float(fill.price)
            self.stop = self.last_entry - self.direction * self.params.stop_atr * self.entry_atr
            self._set_zone()

    order_updates = TERMINAL  # only how an order ended matters here

    def on_order(self, order: Order) -> None:
        units = self._pending.pop(order.client_order_id, None)
        if units is not None and order.filled_qty == 0:
            self.log.warning("entry %s %s (%s)", order.client_order_id, order.status,
                             order.reason)
            self.units -= units
            if order.intent.tag == "top_up":
                self.confirmed = False  # the signal units are not in after all
            if self.units <= 0 or self.position.is_flat:
                self._reset()

    # -- actions -------------------------------------------------------------------------

    def _open(self, direction: int, units: float, price: float, atr: float, *,
              confirmed: bool) -> None:
        p = self.params
        if not atr > 0:
            return  # no range at all: no stop distance, no unit
        equity = float(self.equity)
        if p.unit_quantity is not None:
            unit = float(p.unit_quantity)
        else:
            unit = min(equity * p.risk_per_trade / atr,
                       self._allowed() / (p.max_units * price))
        if not unit > 0:
            return
        self.direction = direction
        self.unit = unit
        self.units = 0.0
        self.confirmed = confirmed
        self._submit(units, units * unit, atr, "trial" if not confirmed else "entry")

    def _add(self, units: float, price: float, atr: float, tag: str) -> None:
        p = self.params
        quantity = units * self.unit
        if p.unit_quantity is None:
            room = self._allowed() / price - abs(float(self.position.quantity))
            quantity = min(quantity, room)
        if quantity > 0:
            self._submit(units, quantity, atr, tag)

    def _submit(self, units: float, quantity: float, atr: float, tag: str) -> None:
        self.units += units
        self.entry_atr = atr
        if self.direction > 0:
            order = self.buy(quantity, tag=tag)
        else:
            order = self.sell(quantity, tag=tag)
        if order is not None:
            # A refusal or the fill reaches on_order/on_fill after this hook returns.
            self._pending[order.client_order_id] = units
            return
        self.units -= units  # not even formed (the size rounds to zero)
        if self.units <= 0:
            self._reset()

    def _exit(self, tag: str) -> None:
        self.close(tag=tag)
        self._reset()

    def _reset(self) -> None:
        self.direction = 0
        self.units = 0.0
        self.confirmed = False
        self.stop = _NAN
        self._set_zone()

    # -- internals -----------------------------------------------------------------------

    def _update(self, high: float, low: float, close: float) -> None:
        self.alignment = _alignment([sma.update(close) for sma in self._smas])
        line, sig, _ = self._macd.update(close)
        self.macd_diff = diff = line - sig
        self.macd_sign = None if diff != diff else sign(diff, close)
        self.atr = self._atr.update(high, low, close)

    def _follow_position(self) -> None:
        """Forget a trade the position no longer holds (a risk exit, a liquidation)."""
        if self.direction and self.position.is_flat and not self._pending:
            self._reset()

    def _allowed(self) -> float:
        """The largest position notional the leverage rule allows."""
        given = self.params.leverage
        leverage = given if given is not None else float(self.position.leverage)
        money = float(min(self.equity, self.capital))
        return money * leverage * self.params.exposure

    def _set_zone(self) -> None:
        stop = self.stop
        if self.direction == 0 or stop != stop:
            self._lo, self._hi = -_INF, _INF
        elif self.direction > 0:
            self._lo, self._hi = stop + TIE * abs(stop), _INF  # a touch exits
        else:
            self._lo, self._hi = -_INF, stop - TIE * abs(stop)


def _json(value: float) -> float | None:
    return None if value != value else value


def _float(value: Any) -> float:
    return _NAN if value is None else float(value)
