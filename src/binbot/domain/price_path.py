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


def intrabar_ticks(
    open_time_ms: int, length_ms: int, open_: float, high: float, low: float, close: float
) -> tuple[tuple[int, float], ...]:
    """Return ``(time_ms, price)`` for each trade of ``intrabar_path``, evenly spaced.

    The k-th (from 0) of n prices trades at ``open_time + k * length // n``: the open trades at
    the open time and the close trades last, inside the candle. The local exchange stamps its
    aggTrades with these times and the backtester and restart catch-up replay them, which is what
    makes their trade lists comparable to the millisecond.
    """
    path = intrabar_path(open_, high, low, close)
    count = len(path)
    return tuple(
        (open_time_ms + index * length_ms // count, price)
        for index, price in enumerate(path)
    )
