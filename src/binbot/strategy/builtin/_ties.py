"""Comparisons for signal rules that rounding noise cannot decide.

Two computations of the same indicator (incremental live, vectorized in a backtest or a test)
agree to a few ulps, and with prices on a tick grid exact ties are common (two averages of the
same closes, an RSI of exactly 30). So, as BOLL does, values within a relative ``TIE`` of each
other count as equal: ``above(a, b)`` means ``a`` is above ``b`` by more than that.
"""

from __future__ import annotations

from typing import Final

TIE: Final = 1e-9


def above(a: float, b: float) -> bool:
    return a - b > TIE * abs(b)


def below(a: float, b: float) -> bool:
    return b - a > TIE * abs(b)


def sign(x: float, scale: float) -> int:
    """+1, -1 or 0 (within ``TIE`` x ``scale`` of zero): the side of a difference of two
    price-like lines, ``scale`` being a price."""
    tie = TIE * abs(scale)
    return 1 if x > tie else -1 if x < -tie else 0
