"""BOLL: Bollinger-band mean reversion with real-time bands (DESIGN.md, "The BOLL strategy").

Bands: the last ``period - 1`` closed candles plus the forming one at the current price;
``mid = mean``, ``std`` with ``ddof``, ``UP/DN = mid +- k * std``. State = position (flat, long,
short) x phase (normal, above_up, below_dn), starting flat and normal:

- normal: ``p > UP`` -> close a short (stop loss), phase above_up;
  else ``p < DN`` -> close a long (stop loss), phase below_dn.
- above_up: ``p <= UP`` -> close a long (take profit), open a short, phase normal.
- below_dn: ``p >= DN`` -> close a short (take profit), open a long, phase normal.

Spot skips the short legs. Ties: within a relative 1e-9 of a band counts as on it (inside).
The first evaluation comes once ``period - 1`` candles have closed.

Speed: in phase normal nothing can happen while the price stays strictly inside the bands, and
``p > UP(p)`` has a closed form. With ``a``, ``M`` the mean and squared-deviation sum of the
``n - 1`` closed values and ``u = p - a``, ``p - mid = (n-1)u/n`` and
``var = (M + (n-1)u^2/n) / (n - ddof)``, so ``p > UP`` iff
``u > u* = sqrt(k^2 M / ((n - ddof) c))`` with ``c = (n-1)/n * ((n-1)/n - k^2/(n - ddof))``
(never when ``c <= 0``); symmetrically ``p < DN`` iff ``u < -u*``. After each closed candle the
strategy computes that "quiet zone" (shrunk by a guard far larger than rounding error) and
``on_price`` is a single comparison inside it; outside it every price is evaluated exactly with
``BollingerBands.peek``. In the phases above_up/below_dn the quiet zone is the far side of the
band: with ``g(u) = (n-1)u/n - k std`` (= ``p - UP`` for ``u > 0``), ``g`` is concave with a
slope never below ``s = (n-1)/n - k sqrt((n-1)/n / (n - ddof))`` (> 0 iff ``c > 0``) and
``g(u*) = 0``, so ``p - UP >= s (u - u*)``: past ``u* + 4e-9 (|a| + u*) / s`` (plus the guard)
the price stays above ``UP (1 + 1e-9)``; the same holds below ``DN``. Decisions are therefore
identical to evaluating every tick (``tests/unit/strategy/test_boll_real_data.py`` checks both
ways).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final, Literal

from pydantic import Field, field_validator, model_validator

from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.domain.orders import Order, OrderStatus
from binbot.indicators import BollingerBands
from binbot.strategy.base import Strategy
from binbot.strategy.context import PriceSource
from binbot.strategy.params import StrategyParams

TIE: Final = 1e-9
FLAT: Final = 0
LONG: Final = 1
SHORT: Final = -1
NORMAL: Final = "normal"
ABOVE_UP: Final = "above_up"
BELOW_DN: Final = "below_dn"
Phase = Literal["normal", "above_up", "below_dn"]
_POSITION_NAMES: Final = {FLAT: "flat", LONG: "long", SHORT: "short"}
_INF: Final = math.inf
_MIN_SLOPE: Final = 1e-6  # flatter than this, the phases above/below a band evaluate every price


class BollParams(StrategyParams):
    """BOLL parameters. Sizing: ``quantity`` (base) or ``quote_amount`` per entry; with
    neither, each entry uses ``capital_share`` of equity x leverage."""

    period: int = Field(20, ge=2, le=10_000)
    k: float = Field(2.0, ge=0, allow_inf_nan=False)
    ddof: int = Field(0, ge=0)
    price_source: PriceSource = "trade"
    quantity: Decimal | None = Field(None, gt=0)
    quote_amount: Decimal | None = Field(None, gt=0)
    capital_share: float = Field(0.9, gt=0, le=1)

    @field_validator("price_source", mode="before")
    @classmethod
    def _spelling(cls, value: Any) -> Any:
        return "book_mid" if value in ("book mid", "book-mid", "mid") else value

    @model_validator(mode="after")
    def _consistent(self) -> BollParams:
        if self.ddof >= self.period:
            raise ValueError(f"ddof must be < period ({self.period}), was {self.ddof}")
        if self.quantity is not None and self.quote_amount is not None:
            raise ValueError("give quantity or quote_amount, not both")
        return self


class Boll(Strategy):
    """The default strategy (see the module docstring)."""

    name = "boll"
    Params = BollParams
    params: BollParams

    def __init__(self, params: Mapping[str, Any] | StrategyParams | None = None) -> None:
        super().__init__(params)
        p = self.params
        self.price_source = p.price_source
        self._n = p.period
        self._bands = BollingerBands(p.period, p.k, p.ddof)
        self._position = FLAT
        self._phase: Phase = NORMAL
        self._shorts = True
        # Prices strictly between quiet_low and quiet_high cannot change anything (see the
        # module docstring); ``Strategy`` documents the two for the engine.
        self.quiet_low = -_INF
        self.quiet_high = _INF
        self._threshold = _INF  # u*
        self._anchor = 0.0  # a: mean of the closed part of the window
        n, k, ddof = p.period, p.k, p.ddof
        weight = (n - 1) / n
        self._c = weight * (weight - k * k / (n - ddof))
        self._k2 = k * k
        self._threshold_div = (n - ddof) * self._c
        self._is_ready = False  # len(candles) >= n - 1, as of the last candle
        # d(p - UP)/du for u > 0 decreases towards this (positive exactly when c > 0).
        self._slope = weight - k * math.sqrt(weight / (n - ddof))

    # -- state ---------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def intended_position(self) -> str:
        """"flat", "long" or "short": the position the state machine is in."""
        return _POSITION_NAMES[self._position]

    @property
    def bands(self) -> tuple[float, float, float]:
        """Real-time ``(mid, up, dn)`` at the current price (NaN before the first evaluation)."""
        return self._bands.peek(self.price)

    def save_state(self) -> dict[str, Any]:
        return {**self.state, "position": self._position, "phase": self._phase}

    def restore_state(self, state: Mapping[str, Any]) -> None:
        super().restore_state(state)
        position = int(state.get("position", FLAT))
        phase = state.get("phase", NORMAL)
        if position not in _POSITION_NAMES or phase not in (NORMAL, ABOVE_UP, BELOW_DN):
            raise ValueError(f"bad BOLL state, was position={position!r} phase={phase!r}")
        self._position = position
        self._phase = phase

    # -- hooks ---------------------------------------------------------------------------

    def on_start(self) -> None:
        self._shorts = self.market is not Market.SPOT
        self._is_ready = False
        self._bands = BollingerBands(self._n, self.params.k, self.params.ddof)
        for close in self.candles.close[-(self._n - 1) :].tolist():
            self._bands.push(close)
        self._refresh_tail()

    def on_candle(self, candle: Candle) -> None:
        self._bands.push(candle.close)  # only peek and tail_summary are read
        self._refresh_tail()

    def on_price(self, price: float) -> None:
        if self.quiet_low < price < self.quiet_high:
            return
        self._evaluate(price)

    quiet_band_of = on_price  # the quiet band describes this very on_price

    # Only an order that ends without executing matters to the state machine.
    order_updates = frozenset({OrderStatus.REJECTED, OrderStatus.EXPIRED, OrderStatus.CANCELED})

    def on_order(self, order: Order) -> None:
        if order.filled_qty == 0:
            # The state machine assumed the order would execute; follow the real position.
            quantity = self.position.quantity
            self._position = LONG if quantity > 0 else SHORT if quantity < 0 else FLAT
            self.log.warning("order %s %s (%s); position now %s", order.client_order_id,
                             order.status, order.reason, self.intended_position)

    # -- the state machine -----------------------------------------------------------------

    def _evaluate(self, price: float) -> None:
        _mid, up, dn = self._bands.peek(price)
        if math.isnan(up):
            return
        phase = self._phase
        if phase == NORMAL:
            if price > up * (1 + TIE):
                self._break_out(SHORT, ABOVE_UP)
            elif price < dn * (1 - TIE):
                self._break_out(LONG, BELOW_DN)
        elif phase == ABOVE_UP:
            if price <= up * (1 + TIE):
                self._fall_back(LONG, SHORT if self._shorts else FLAT)
        elif price >= dn * (1 - TIE):
            self._fall_back(SHORT, LONG)

    def _break_out(self, stopped: int, phase: Phase) -> None:
        """The price left the bands: stop out a position betting the other way."""
        if self._position == stopped:
            self._close("stop_loss")
        self._set_phase(phase)

    def _fall_back(self, profitable: int, entry: int) -> None:
        """The price came back inside: take profit on ``profitable``, open ``entry``."""
        if self._position == profitable:
            self._close("take_profit")
        if entry != FLAT:
            self._open(entry)
        self._set_phase(NORMAL)

    def _close(self, tag: str) -> None:
        self._position = FLAT
        self.close(tag=tag)

    def _open(self, side: int) -> None:
        self._position = side
        p = self.params
        quote: Decimal | float | None = p.quote_amount
        if p.quantity is None and quote is None:
            view = self.position
            quote = float(self.equity) * p.capital_share * view.leverage
        if side == LONG:
            self.buy(p.quantity, quote_amount=None if p.quantity else quote, tag="entry")
        else:
            self.sell(p.quantity, quote_amount=None if p.quantity else quote, tag="entry")

    def _set_phase(self, phase: Phase) -> None:
        self._phase = phase
        self._update_zone()

    def _refresh_tail(self) -> None:
        """``a`` and ``u*`` from the closed part of the window: the bands object already
        keeps its mean and squared-deviation sum (the very numbers ``peek`` uses)."""
        # Readiness changes only when a candle closes (then this runs) or at a restart
        # (``on_start`` resets it); once ready it stays so, the candle series never shrinks.
        ready = self._is_ready or self._ready()
        self._is_ready = ready
        if not ready:
            self._threshold = _INF
            self.quiet_low, self.quiet_high = -_INF, _INF
            return
        self._anchor, m2 = self._bands.tail_summary()
        if self._c <= 0:
            self._threshold = _INF
        else:  # sqrt(k^2 M / ((n - ddof) c)), the factors computed once
            self._threshold = math.sqrt(self._k2 * m2 / self._threshold_div)
        self._update_zone()

    def _update_zone(self) -> None:
        u = self._threshold
        if not self._is_ready:
            self.quiet_low, self.quiet_high = -_INF, _INF  # before the first evaluation
            return
        phase = self._phase
        if phase != NORMAL and (u == _INF or self._slope <= _MIN_SLOPE):
            self.quiet_low, self.quiet_high = _INF, -_INF  # evaluate every price
            return
        if u == _INF:
            self.quiet_low, self.quiet_high = -_INF, _INF  # bands unreachable: nothing can happen
            return
        a = self._anchor
        guard = 1e-9 * u + 1e-12 * abs(a)
        if phase == NORMAL:
            self.quiet_low = a - u + guard
            self.quiet_high = a + u - guard
            return
        # Beyond a band, p - UP (above) and DN - p (below) grow with |u| - u* at a slope of
        # at least ``_slope``; the tie rule asks for a margin of 1e-9 of the price, so a gap
        # of 4e-9 (|a| + u*) / slope, plus the guard, keeps every price past it outside.
        gap = 4 * TIE * (abs(a) + u) / self._slope + guard
        if phase == ABOVE_UP:
            self.quiet_low, self.quiet_high = a + u + gap, _INF
        else:
            self.quiet_low, self.quiet_high = -_INF, a - u - gap

    def _ready(self) -> bool:
        return len(self.candles) >= self._n - 1
