"""Where a backtest's candles come from: Binance archive files or the candle store.

Archive files are read with the importer's own parser (``services.kline_archive``), so a file
that ``binbot data import`` rejects is rejected here with the same message. Stored candles are
read with ``SqlCandleStore.read_arrays``. Either way the result is one ``Bars`` series (the
finest interval asked for, 1m by default) plus the price and quantity precision the data shows,
which the default instrument is built from (see ``instrument.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine

from binbot.backtest.bars import Bars
from binbot.domain.market import Market, interval_ms
from binbot.services.kline_archive import read_kline_file
from binbot.storage.candles import SqlCandleStore
from binbot.storage.database import make_engine

_MAX_DECIMALS = 10


class DataError(ValueError):
    """No usable candles for the backtest; the message says what was looked for."""


@dataclass(frozen=True, slots=True, eq=False)
class MarketData:
    """The candles one backtest replays (``bars`` is the finest series available)."""

    market: Market
    symbol: str
    bars: Bars
    price_decimals: int
    qty_decimals: int


def decimals_of(values: npt.NDArray[np.float64], at_most: int = _MAX_DECIMALS) -> int:
    """The fewest decimals that print every value exactly (as the archive files do)."""
    finite = values[np.isfinite(values)]
    for places in range(at_most + 1):
        scaled = finite * 10.0**places
        if not len(scaled) or float(np.max(np.abs(scaled - np.rint(scaled)))) < 1e-6:
            return places
    return at_most


def _market_data(market: Market, symbol: str, bars: Bars) -> MarketData:
    prices = np.concatenate([bars.open, bars.high, bars.low, bars.close])
    return MarketData(market, symbol, bars, decimals_of(prices), decimals_of(bars.volume))


def load_files(paths: Sequence[Path], market: Market, symbol: str | None = None,
               interval: str | None = None) -> MarketData:
    """Read archive files of one symbol and interval (symbol/interval from the file names
    unless given); overlapping files are merged, the first row of a time kept."""
    if not paths:
        raise DataError("no data files given")
    columns = [read_kline_file(Path(p), market, symbol, interval) for p in paths]
    symbols = sorted({c.symbol for c in columns})
    intervals = sorted({c.interval for c in columns}, key=interval_ms)
    if len(symbols) != 1:
        raise DataError(f"data files hold several symbols ({', '.join(symbols)}); "
                        "a backtest trades one")
    if len(intervals) != 1:
        raise DataError(f"data files hold several intervals ({', '.join(intervals)}); "
                        "give files of one interval (1m for intrabar replay)")
    bars = Bars.concat([Bars.from_columns(intervals[0], c) for c in columns])
    return _market_data(market, symbols[0], bars)


def load_store(database: str | Engine, market: Market, symbol: str, intervals: Sequence[str],
               start_ms: int | None, end_ms: int | None) -> MarketData:
    """Stored candles of the first of ``intervals`` that has any in ``[start_ms, end_ms)``;
    ``database`` is a URL (opened and closed here) or an engine the caller owns."""
    engine = make_engine(database) if isinstance(database, str) else database
    try:
        store = SqlCandleStore(engine)
        for interval in intervals:
            arrays = store.read_arrays(market, symbol, interval, start_ms, end_ms)
            if len(arrays):
                closed = arrays.closed.astype(bool)
                bars = Bars.from_columns(interval, arrays)
                if not closed.all():  # an unclosed candle can only be the last one
                    bars = bars.slice(0, int(np.argmin(closed)))
                return _market_data(market, symbol, bars)
    finally:
        if isinstance(database, str):
            engine.dispose()
    raise DataError(f"no stored {market.value} {symbol} candles ({' or '.join(intervals)}) in "
                    "that range; import some with `binbot data import` or pass --data FILE")
