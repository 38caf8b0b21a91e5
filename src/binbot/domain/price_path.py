"""The plausible trade path inside a candle, shared by the local exchange and the backtester.

Both sides must agree on the order in which a candle's extremes were reached, otherwise a
backtest replaying OHLC paths and a paper bot trading the local exchange's stream would see
different real-time prices. The rule: a rising candle (close >= open) dips first, a falling one
rallies first; repeated prices are dropped.
"""

from __future__ import annotations


def intrabar_path(open_: float, high: float, low: float, close: float) -> tuple[float, ...]:
    """Return the prices traded inside one candle, in order, ending with the close."""
    points = (open_, low, high, close) if close >= open_ else (open_, high, low, close)
    path: list[float] = []
    for price in points:
        if not path or path[-1] != price:
            path.append(price)
    return tuple(path)
