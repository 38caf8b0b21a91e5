"""Speed of the indicators: vectorized ms per 100k values, incremental calls per second.

Run: ``python benchmarks/bench_indicators.py`` (prints figures; asserts nothing about time).
Uses a random walk, so it needs no data files; TA-Lib's time is shown for scale when installed.
EMA/RSI/MACD/ATR use a small matrix product per block (see indicators/_recurrence.py); on a busy
machine a multi-threaded BLAS can make those several times slower, so compare with
``OPENBLAS_NUM_THREADS=1`` when the figures look noisy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from binbot.indicators import (
    ATR,
    EMA,
    MACD,
    RSI,
    SMA,
    BollingerBands,
    atr,
    bollinger_bands,
    ema,
    macd,
    rolling_std,
    rsi,
    sma,
    true_range,
)

N = 100_000
REPEATS = 15


def best_ms(fn: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main() -> None:
    rng = np.random.default_rng(42)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, N)))
    high = close * (1.0 + rng.uniform(0.0, 2e-3, N))
    low = close * (1.0 - rng.uniform(0.0, 2e-3, N))
    try:
        import talib
    except ImportError:
        talib = None

    cases: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]] = [
        ("sma(20)", lambda: sma(close, 20), talib and (lambda: talib.SMA(close, 20))),
        ("ema(20)", lambda: ema(close, 20), talib and (lambda: talib.EMA(close, 20))),
        (
            "rolling_std(20)",
            lambda: rolling_std(close, 20),
            talib and (lambda: talib.STDDEV(close, 20, 1)),
        ),
        (
            "bollinger_bands(20, 2)",
            lambda: bollinger_bands(close, 20, 2.0),
            talib and (lambda: talib.BBANDS(close, 20, 2, 2, 0)),
        ),
        ("rsi(14)", lambda: rsi(close, 14), talib and (lambda: talib.RSI(close, 14))),
        ("macd(12, 26, 9)", lambda: macd(close), talib and (lambda: talib.MACD(close))),
        (
            "true_range",
            lambda: true_range(high, low, close),
            talib and (lambda: talib.TRANGE(high, low, close)),
        ),
        (
            "atr(14)",
            lambda: atr(high, low, close, 14),
            talib and (lambda: talib.ATR(high, low, close, 14)),
        ),
    ]
    print(f"vectorized, best of {REPEATS}, {N:,} values")
    for name, ours, theirs in cases:
        line = f"  {name:24s} {best_ms(ours):7.2f} ms"
        if theirs:
            line += f"   (TA-Lib {best_ms(theirs):6.2f} ms)"
        print(line)

    closes = close.tolist()
    print(f"incremental, {N:,} calls")
    bands = BollingerBands(20, 2.0)
    for value in closes[:20]:
        bands.update(value)
    for name, indicator in (
        ("BollingerBands(20).peek", bands),
        ("SMA(20).peek", SMA(20)),
        ("EMA(20).peek", EMA(20)),
        ("RSI(14).peek", RSI(14)),
        ("MACD().peek", MACD()),
    ):
        for value in closes[:40]:
            indicator.update(value)
        peek = indicator.peek
        elapsed = best_ms(lambda peek=peek: [peek(v) for v in closes]) / 1e3
        print(f"  {name:24s} {N / elapsed / 1e6:6.2f} M calls/s")
    for name, make in (
        ("BollingerBands(20).update", lambda: BollingerBands(20, 2.0)),
        ("SMA(20).update", lambda: SMA(20)),
        ("RSI(14).update", lambda: RSI(14)),
        ("MACD().update", lambda: MACD()),
    ):
        indicator = make()
        start = time.perf_counter()
        for value in closes:
            indicator.update(value)
        print(f"  {name:24s} {N / (time.perf_counter() - start) / 1e6:6.2f} M calls/s")
    average = ATR(14)
    bars = list(zip(high.tolist(), low.tolist(), closes, strict=True))
    start = time.perf_counter()
    for bar in bars:
        average.update(*bar)
    print(f"  {'ATR(14).update':24s} {N / (time.perf_counter() - start) / 1e6:6.2f} M calls/s")


if __name__ == "__main__":
    main()
