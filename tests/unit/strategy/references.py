"""Straightforward re-statements of the built-in strategies' rules, for tests.

Each takes the candles (with the real-time prices inside each, as ``conftest.aggregate`` makes
them), computes every indicator with the *vectorized* functions over the whole series at once,
walks the rules in a plain loop with its own position bookkeeping, and returns what a bot
should have done: ``(time, action, price[, quantity])`` tuples. Nothing here uses the
strategies' code or the incremental indicators. Ties follow the documented rule: values within
a relative 1e-9 of each other are equal.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, Decimal
from typing import Any

import numpy as np

from binbot.indicators import atr, ema, macd, rsi, sma

TIE = 1e-9
Bars = list[tuple[Any, list[tuple[int, float]]]]
Action = tuple[int, str, float]


def closes(bars: Bars) -> np.ndarray:
    return np.array([bar.close for bar, _ in bars], dtype=np.float64)


def _close_time(bar: Any, ticks: list[tuple[int, float]]) -> int:
    """When the bot acts on a closed candle: the time of its last price."""
    return ticks[-1][0] if ticks else int(bar.close_time)


def rsi_actions(bars: Bars, period: int = 14, oversold: float = 30.0,
                overbought: float = 70.0, trend_period: int = 200,
                shorts: bool = True) -> list[Action]:
    c = closes(bars)
    r = rsi(c, period)
    trend = sma(c, trend_period) if trend_period else np.zeros(len(c))
    out: list[Action] = []
    position = "flat"
    for i, (bar, ticks) in enumerate(bars):
        if math.isnan(r[i]) or math.isnan(trend[i]):
            continue
        t, price = _close_time(bar, ticks), c[i]
        up = not trend_period or price - trend[i] > TIE * trend[i]
        down = not trend_period or trend[i] - price > TIE * trend[i]
        if oversold - r[i] > TIE * oversold:
            if position == "short":
                out.append((t, "close_short", price))
                position = "flat"
            if position == "flat" and up:
                out.append((t, "open_long", price))
                position = "long"
        elif r[i] - overbought > TIE * overbought:
            if position == "long":
                out.append((t, "close_long", price))
                position = "flat"
            if shorts and position == "flat" and down:
                out.append((t, "open_short", price))
                position = "short"
    return out


def ma_cross_actions(bars: Bars, fast: int = 10, slow: int = 30, kind: str = "sma",
                     shorts: bool = True) -> list[Action]:
    c = closes(bars)
    average = sma if kind == "sma" else ema
    spread = average(c, fast) - average(c, slow)
    side = np.where(np.abs(spread) <= TIE * c, 0, np.sign(spread))
    out: list[Action] = []
    position = "flat"
    for i in range(1, len(bars)):
        before, now = side[i - 1], side[i]
        if math.isnan(before) or math.isnan(now):
            continue
        bar, ticks = bars[i]
        t, price = _close_time(bar, ticks), c[i]
        if before <= 0 < now:
            if position == "short":
                out.append((t, "close_short", price))
            if position != "long":
                out.append((t, "open_long", price))
                position = "long"
        elif before >= 0 > now:
            if position == "long":
                out.append((t, "close_long", price))
                position = "flat"
            if shorts and position != "short":
                out.append((t, "open_short", price))
                position = "short"
    return out


def alignment(c: np.ndarray, periods: tuple[int, ...]) -> list[int | None]:
    lines = np.array([sma(c, n) for n in periods])
    out: list[int | None] = []
    for i in range(len(c)):
        column = lines[:, i]
        if np.isnan(column).any():
            out.append(None)
        elif (column[:-1] - column[1:] > TIE * column[1:]).all():
            out.append(1)
        elif (column[1:] - column[:-1] > TIE * column[1:]).all():
            out.append(-1)
        else:
            out.append(0)
    return out


def turtle_actions(bars: Bars, unit: Decimal, step: Decimal = Decimal("0.001"),
                   fast: int = 12, slow: int = 26, signal: int = 9,
                   ma_periods: tuple[int, ...] = (7, 20, 60, 120), atr_period: int = 20,
                   trial: float = 0.5, top_up: float = 1.5, add: float = 1.0,
                   add_step: float = 1.0, max_units: float = 4.0, stop_atr: float = 2.0,
                   shorts: bool = True, exit_on_cross: bool = True,
                   ) -> list[tuple[int, str, str, float, float]]:
    """MACD + turtle with a fixed unit: ``(time, tag, side, quantity, price)`` per fill."""
    c = closes(bars)
    high = np.array([bar.high for bar, _ in bars])
    low = np.array([bar.low for bar, _ in bars])
    lines = macd(c, fast, slow, signal)
    diff = lines.macd - lines.signal
    diff = np.where(np.abs(diff) <= TIE * c, 0, np.sign(diff))
    n_atr = atr(high, low, c, atr_period)
    align = alignment(c, ma_periods)
    out: list[tuple[int, str, str, float, float]] = []
    held = Decimal(0)  # signed base quantity
    direction, units, confirmed = 0, 0.0, False
    last_entry = entry_atr = stop = math.nan

    def qty(u: float) -> Decimal:
        return (Decimal(repr(u * float(unit))) / step).to_integral_value(ROUND_DOWN) * step

    def fill(t: int, tag: str, side: str, quantity: Decimal, price: float) -> None:
        nonlocal held
        held += quantity if side == "BUY" else -quantity
        out.append((t, tag, side, float(quantity), price))

    def close_all(t: int, tag: str, price: float) -> None:
        nonlocal direction, units, confirmed, stop
        if held:
            fill(t, tag, "SELL" if held > 0 else "BUY", abs(held), price)
        direction, units, confirmed, stop = 0, 0.0, False, math.nan

    def enter(t: int, tag: str, u: float, price: float, atr_now: float) -> None:
        nonlocal units, last_entry, entry_atr, stop
        units += u
        entry_atr = atr_now
        fill(t, tag, "BUY" if direction > 0 else "SELL", qty(u), price)
        last_entry = price
        stop = last_entry - direction * stop_atr * entry_atr

    for i, (bar, ticks) in enumerate(bars):
        for t, p in ticks:
            touch = TIE * abs(stop)
            if direction and not math.isnan(stop) and (
                    (direction > 0 and p <= stop + touch) or (direction < 0 and p >= stop - touch)):
                close_all(t, "stop", p)
        if i == 0 or align[i] is None or math.isnan(diff[i]) or math.isnan(n_atr[i]) or (
                math.isnan(diff[i - 1])):
            continue
        t, price, a = _close_time(bar, ticks), c[i], align[i]
        cross = 1 if diff[i - 1] <= 0 < diff[i] else -1 if diff[i - 1] >= 0 > diff[i] else 0
        if direction and exit_on_cross and cross == -direction:
            close_all(t, "cross_exit", price)
        if direction == 0:
            if (a == -1 and not shorts) or not n_atr[i] > 0:
                continue
            lined_up = a != 0 and align[i - 1] is not None and align[i - 1] != a
            if a != 0 and cross == a:
                direction, confirmed, units = a, True, 0.0
                enter(t, "entry", trial + top_up, price, n_atr[i])
            elif lined_up:
                assert a is not None
                direction, confirmed, units = a, False, 0.0
                enter(t, "trial", trial, price, n_atr[i])
        elif not confirmed:
            if cross == direction and a == direction:
                confirmed = True
                enter(t, "top_up", top_up, price, n_atr[i])
        elif units < max_units and (price - last_entry) * direction >= (
                add_step * entry_atr * (1 - TIE)):
            enter(t, "pyramid", min(add, max_units - units), price, n_atr[i])
    return out
