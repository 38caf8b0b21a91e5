"""The price-driven risk limits: stop loss, take profit, trailing stop, daily target and loss
limits, and the maximum drawdown kill switch.

``RiskMonitor`` only decides; ``BotCore`` acts on the ``RiskAction``s it returns (exit with a
reduce-only market order, block new positions for the rest of the UTC day, trip the kill
switch). All arithmetic is float64 on the bot's own ledger: equity at price ``p`` is
``base + qty * (p - entry)`` with ``base`` = capital + realised PnL - fees + funding (the
``Portfolio`` formula, on both markets).

Prices: the trade prices ``BotCore.on_price`` receives (mark prices and book tickers are not
watched; the equity they would give differs from the last trade's by little).

Speed: every rule is a threshold on the price while the position stands still, so the monitor
publishes a quiet zone ``lo < price < hi`` (and ``until``, the next UTC midnight when daily rules
are on) inside which nothing can trigger; ``BotCore.on_price`` calls ``evaluate`` only outside
it. Thresholds derived from equity are widened towards the inside by a further relative 1e-9,
so float rounding can only cause a needless evaluation, never a missed one; ``evaluate`` then
decides with the rules' own formulas.

Ties: a level counts as reached within a relative 1e-9 of it (``TIE``, as in the strategies), so
a stop at ``100 x (1 - 2/100)`` is hit by a price of 98 whichever way the float rounded.

Rules, for a long position (a short mirrors them):
- stop loss: price <= entry x (1 - pct/100), or entry - k x ATR;
- take profit: price >= entry x (1 + pct/100), or entry + k x ATR;
- trailing stop: price <= best x (1 - pct/100), or best - k x ATR, where best is the highest
  price since the position was opened (each price above it moves it);
- ``entry`` is the average entry price; the ATR is the one of the last closed candle when the
  position last changed (levels wait for the first candle when the ATR is not ready yet);
- daily: at the first price of each UTC day, the day's starting equity is taken at the previous
  price (the last valuation before midnight); equity <= start x (1 - loss/100) or
  >= start x (1 + target/100) blocks new positions until the next midnight, once a day;
- drawdown: the peak is the highest equity seen at any evaluated price; equity <=
  peak x (1 - dd/100) trips the kill switch, after which the monitor does nothing until
  ``reset``.
An exit is asked for once per position change or closed candle, so a refused exit is not
retried on every price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Literal

from binbot.engine.risk import RiskLimits
from binbot.indicators import ATR

DAY_MS: Final = 86_400_000
NEVER: Final = 2**62
TIE: Final = 1e-9
GUARD: Final = 1e-9
_INF: Final = math.inf
_NAN: Final = math.nan

STOP_LOSS: Final = "stop_loss"
TAKE_PROFIT: Final = "take_profit"
TRAILING_STOP: Final = "trailing_stop"
DAILY_TARGET: Final = "daily_target"
DAILY_LOSS: Final = "daily_loss"
MAX_DRAWDOWN: Final = "max_drawdown"
NEW_DAY: Final = "new_day"

ActionKind = Literal["exit", "block", "halt", "unblock"]


@dataclass(frozen=True, slots=True)
class RiskAction:
    """What the engine must do: ``exit`` (flatten), ``block`` (no new positions until
    ``until``; flatten too when ``flatten``), ``halt`` (kill switch), ``unblock`` (a new day)."""

    kind: ActionKind
    rule: str
    reason: str
    flatten: bool = False
    until: int = 0


def _pct(value: float | None) -> float:
    return _NAN if value is None else value / 100.0


def _opt(value: float | None) -> float:
    return _NAN if value is None else value


class RiskMonitor:
    """Watches one bot's prices against its limits (see the module docstring)."""

    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits
        self.active = limits.watches_prices
        self._sl_pct = _pct(limits.stop_loss_pct)
        self._sl_atr = _opt(limits.stop_loss_atr)
        self._tp_pct = _pct(limits.take_profit_pct)
        self._tp_atr = _opt(limits.take_profit_atr)
        self._tr_pct = _pct(limits.trailing_stop_pct)
        self._tr_atr = _opt(limits.trailing_stop_atr)
        self._loss = _pct(limits.daily_loss_pct)
        self._target = _pct(limits.daily_target_pct)
        self._dd = _pct(limits.max_drawdown_pct)
        self._daily = limits.daily
        self._atr = ATR(limits.atr_period) if limits.uses_atr else None
        # The position (floats) and its exit levels (NaN: not set).
        self.qty = 0.0
        self.entry = 0.0
        self.base = 0.0
        self.stop = _NAN
        self.target = _NAN
        self.best = _NAN
        self.trail = _NAN  # the trailing distance when fixed (ATR); pct trails use best
        self._levels_pending = False  # ATR levels waiting for the ATR
        self._exit_asked = False
        # Daily and drawdown bookkeeping.
        self.day = -1
        self.day_start = _NAN
        self.daily_done = False
        self.peak = _NAN
        self.halted = False
        # The quiet zone (see the module docstring); everything evaluated until the first price.
        self.lo = _INF if self.active else -_INF
        self.hi = -_INF if self.active else _INF
        self.until = NEVER

    # -- inputs --------------------------------------------------------------------------

    def equity(self, price: float) -> float:
        return self.base + self.qty * (price - self.entry) if self.qty else self.base

    def warm(self, high: list[float], low: list[float], close: list[float]) -> None:
        """Rebuild the ATR from the bot's closed candles (at start)."""
        if self._atr is None:
            return
        self._atr = ATR(self.limits.atr_period)
        for h, lo, c in zip(high, low, close, strict=True):
            self._atr.update(h, lo, c)
        self._arm_pending()

    def on_candle(self, high: float, low: float, close: float) -> None:
        if self._atr is not None:
            self._atr.update(high, low, close)
            self._arm_pending()
        self._exit_asked = False
        self._update_zone()

    def on_position(self, qty: float, entry: float, base: float) -> None:
        """The position or the balance changed (a fill, funding)."""
        previous = self.qty
        moved = qty != previous or (qty != 0 and entry != self.entry)
        self.qty, self.entry, self.base = qty, entry, base
        if moved:
            self._exit_asked = False
            if qty == 0:
                self.stop = self.target = self.best = self.trail = _NAN
                self._levels_pending = False
            else:
                opened = previous == 0 or (previous > 0) != (qty > 0)
                if opened or math.isnan(self.best):
                    self.best = entry
                self._set_levels()
        self._update_zone()

    def restore_position(self, qty: float, entry: float, base: float) -> None:
        """Set the position after ``restore`` without recomputing its saved levels."""
        self.qty, self.entry, self.base = qty, entry, base
        self._update_zone()

    def reset(self, equity: float) -> None:
        """Lift the kill switch: drawdown is measured from ``equity`` again."""
        self.halted = False
        self.peak = equity
        self._update_zone()

    def halt(self) -> None:
        """The kill switch tripped (here or by the operator): stop watching."""
        self.halted = True
        self._update_zone()

    # -- evaluation ----------------------------------------------------------------------

    def evaluate(self, time_ms: int, price: float, previous: float) -> list[RiskAction]:
        """Apply every rule at ``price`` (``previous``: the price before it, NaN if none)."""
        actions: list[RiskAction] = []
        if self.halted:
            self._update_zone()
            return actions
        if self._daily and time_ms // DAY_MS != self.day:
            first = self.day < 0 or math.isnan(previous)
            self.day = time_ms // DAY_MS
            self.day_start = self.equity(price if first else previous)
            self.daily_done = False
            actions.append(RiskAction("unblock", NEW_DAY, "a new UTC day"))
        equity = self.equity(price)
        if math.isnan(self.peak) or equity > self.peak:
            self.peak = equity
        dd = self._dd
        if dd == dd and _reached_down(equity, self.peak * (1 - dd)):
            self.halted = True
            actions.append(RiskAction(
                "halt", MAX_DRAWDOWN,
                f"max drawdown {self.limits.max_drawdown_pct:g}% reached: equity "
                f"{equity:.8g} from a peak of {self.peak:.8g}", flatten=True))
            self._update_zone()
            return actions
        flattening = self._daily_rules(equity, actions)
        if self.qty and not flattening and not self._exit_asked:
            exit_rule = self._exit_rule(price)
            if exit_rule:
                self._exit_asked = True
                actions.append(RiskAction("exit", exit_rule, self._exit_reason(exit_rule, price),
                                          flatten=True))
        self._update_zone()
        return actions

    def _daily_rules(self, equity: float, actions: list[RiskAction]) -> bool:
        """Append a daily block if one is due; True when it also flattens."""
        if not self._daily or self.daily_done:
            return False
        until = (self.day + 1) * DAY_MS
        start = self.day_start
        limits = self.limits
        if self._loss == self._loss and _reached_down(equity, start * (1 - self._loss)):
            self.daily_done = True
            actions.append(RiskAction(
                "block", DAILY_LOSS,
                f"daily loss limit {limits.daily_loss_pct:g}% reached: equity {equity:.8g} "
                f"from {start:.8g} at the start of the day",
                flatten=limits.daily_loss_flatten, until=until))
            return limits.daily_loss_flatten
        if self._target == self._target and _reached_up(equity, start * (1 + self._target)):
            self.daily_done = True
            actions.append(RiskAction(
                "block", DAILY_TARGET,
                f"daily target {limits.daily_target_pct:g}% reached: equity {equity:.8g} "
                f"from {start:.8g} at the start of the day",
                flatten=limits.daily_target_flatten, until=until))
            return limits.daily_target_flatten
        return False

    def _exit_rule(self, price: float) -> str:
        if self.qty > 0:
            if price > self.best:
                self.best = price
            if _reached_down(price, self.stop):
                return STOP_LOSS
            if _reached_up(price, self.target):
                return TAKE_PROFIT
            if _reached_down(price, self._trail_level()):
                return TRAILING_STOP
            return ""
        if price < self.best:
            self.best = price
        if _reached_up(price, self.stop):
            return STOP_LOSS
        if _reached_down(price, self.target):
            return TAKE_PROFIT
        if _reached_up(price, self._trail_level()):
            return TRAILING_STOP
        return ""

    def _exit_reason(self, rule: str, price: float) -> str:
        level = {STOP_LOSS: self.stop, TAKE_PROFIT: self.target}.get(rule)
        if level is None:
            level = self._trail_level()
        side = "long" if self.qty > 0 else "short"
        return (f"{rule.replace('_', ' ')} of the {side} from {self.entry:.8g} at {level:.8g}, "
                f"price {price:.8g}")

    # -- levels and the quiet zone -------------------------------------------------------

    def _trail_level(self) -> float:
        """The trailing stop price (NaN when not set)."""
        sign = 1.0 if self.qty > 0 else -1.0
        if self._tr_pct == self._tr_pct:
            return self.best * (1 - sign * self._tr_pct)
        return self.best - sign * self.trail  # NaN unless an ATR trail is armed

    def _set_levels(self) -> None:
        sign = 1.0 if self.qty > 0 else -1.0
        entry = self.entry
        atr = self._atr.value if self._atr is not None else _NAN
        self._levels_pending = self._atr is not None and atr != atr
        self.stop = (entry * (1 - sign * self._sl_pct) if self._sl_pct == self._sl_pct
                     else entry - sign * self._sl_atr * atr)
        self.target = (entry * (1 + sign * self._tp_pct) if self._tp_pct == self._tp_pct
                       else entry + sign * self._tp_atr * atr)
        self.trail = self._tr_atr * atr

    def _arm_pending(self) -> None:
        if self._levels_pending and self.qty:
            self._set_levels()

    def _update_zone(self) -> None:
        if not self.active or self.halted:
            self.lo, self.hi, self.until = -_INF, _INF, NEVER
            return
        self.until = (self.day + 1) * DAY_MS if self._daily and self.day >= 0 else NEVER
        if self._daily and self.day < 0:
            self.lo, self.hi = _INF, -_INF  # the first price starts the day
            return
        lo, hi = -_INF, _INF
        q = self.qty
        if q:
            below, above = (self.stop, self.target) if q > 0 else (self.target, self.stop)
            trail = self._trail_level()
            # A new best price moves the trailing stop (when there is one).
            best = self.best if trail == trail else _NAN
            if q > 0:
                lo = _max(lo, _down_trigger(below), _down_trigger(trail))
                hi = _min(hi, _up_trigger(above), best)
            else:
                lo = _max(lo, _down_trigger(below), best)
                hi = _min(hi, _up_trigger(above), _up_trigger(trail))
        watch_peak = self._dd == self._dd
        if watch_peak and self.peak != self.peak:
            self.lo, self.hi = _INF, -_INF  # no peak yet: the next price sets it
            return
        falls, rises = self._equity_levels()
        if q == 0:
            base = self.base
            if (any(_reached_down(base, v) for v in falls)
                    or any(_reached_up(base, v) for v in rises)
                    or (watch_peak and base > self.peak)):
                lo, hi = _INF, -_INF  # already met: act at the next price
        else:
            # E(p) = base + q (p - entry) crosses ``level`` at p = entry + (level - base) / q.
            down = [self.entry + (_down_trigger(v) - self.base) / q for v in falls]
            up = [self.entry + (_up_trigger(v) - self.base) / q for v in rises]
            if watch_peak:  # a new peak moves the drawdown level
                up.append(self.entry + (self.peak - self.base) / q)
            if q < 0:
                down, up = up, down
            for p in down:
                lo = _max(lo, p + GUARD * abs(p))
            for p in up:
                hi = _min(hi, p - GUARD * abs(p))
        self.lo, self.hi = lo, hi

    def _equity_levels(self) -> tuple[list[float], list[float]]:
        """Equity levels that trigger when equity falls to / rises to them."""
        falls: list[float] = []
        rises: list[float] = []
        if self._dd == self._dd:
            falls.append(self.peak * (1 - self._dd))
        if self._daily and not self.daily_done and self.day_start == self.day_start:
            if self._loss == self._loss:
                falls.append(self.day_start * (1 - self._loss))
            if self._target == self._target:
                rises.append(self.day_start * (1 + self._target))
        return falls, rises

    # -- persistence ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "stop": _json(self.stop), "target": _json(self.target), "best": _json(self.best),
            "trail": _json(self.trail), "levels_pending": self._levels_pending,
            "exit_asked": self._exit_asked, "day": self.day, "day_start": _json(self.day_start),
            "daily_done": self.daily_done, "peak": _json(self.peak), "halted": self.halted,
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.stop = _float(data["stop"])
        self.target = _float(data["target"])
        self.best = _float(data["best"])
        self.trail = _float(data["trail"])
        self._levels_pending = bool(data["levels_pending"])
        self._exit_asked = bool(data["exit_asked"])
        self.day = int(data["day"])
        self.day_start = _float(data["day_start"])
        self.daily_done = bool(data["daily_done"])
        self.peak = _float(data["peak"])
        self.halted = bool(data["halted"])


def _reached_down(x: float, level: float) -> bool:
    """``x`` is at or below ``level`` (within ``TIE``); False for a NaN level."""
    return x <= level + TIE * abs(level)


def _reached_up(x: float, level: float) -> bool:
    return x >= level - TIE * abs(level)


def _down_trigger(level: float) -> float:
    """The highest value that reaches ``level`` from above."""
    return level + TIE * abs(level)


def _up_trigger(level: float) -> float:
    return level - TIE * abs(level)


def _max(current: float, *values: float) -> float:
    for v in values:
        if v > current:  # NaN compares False: unset levels are skipped
            current = v
    return current


def _min(current: float, *values: float) -> float:
    for v in values:
        if v < current:
            current = v
    return current


def _json(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else value


def _float(value: float | None) -> float:
    return _NAN if value is None else float(value)
