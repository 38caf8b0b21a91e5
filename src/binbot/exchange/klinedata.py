"""Binance archive 1m kline files loaded into exact integer columns.

Prices and volumes are kept as integers scaled by the number of decimals the file uses, so that
aggregating 1m candles into any interval is exact (a closed 15m candle equals the sum of its
file rows to the last digit) and every decimal goes out formatted like the file's text.

The intrabar replay of one candle (its aggregated trades) is defined here too, as a pure
function of the data, so that the stream and the REST ``aggTrades`` endpoint agree and a
restarted exchange reproduces the same trade ids.
"""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from binbot.domain.market import MINUTE_MS
from binbot.domain.price_path import intrabar_path

IntArray = npt.NDArray[np.int64]

COLUMNS = (
    "open_time", "open", "high", "low", "close", "volume", "close_time",
    "quote_volume", "count", "taker_buy_volume", "taker_buy_quote_volume",
)
_PRICE = ("open", "high", "low", "close")
_QTY = ("volume", "taker_buy_volume")
_QUOTE = ("quote_volume", "taker_buy_quote_volume")
_MAX_DECIMALS = 10
# Above this magnitude a float64 no longer carries every decimal digit exactly; such columns
# are re-read as text and parsed digit by digit.
_FLOAT_EXACT_LIMIT = 1e12
_SYMBOL_RE = re.compile(r"^([A-Za-z0-9]+)-1m-")
_MICROSECOND_THRESHOLD = 10**14


class KlineFileError(ValueError):
    """A data file that cannot be used as 1m kline history."""


def symbol_from_filename(path: Path) -> str:
    """``FILUSDT-1m-2025-04.csv.gz`` -> ``FILUSDT``."""
    match = _SYMBOL_RE.match(path.name)
    if match is None:
        raise KlineFileError(
            f"cannot tell the symbol from the file name {path.name!r}; "
            "expected SYMBOL-1m-YYYY-MM.csv[.gz|.zip] or an explicit symbol"
        )
    return match.group(1).upper()


def format_scaled(value: int, decimals: int) -> str:
    """Format an integer holding ``value / 10**decimals`` as fixed-point text."""
    if decimals == 0:
        return str(value)
    sign = "-" if value < 0 else ""
    digits = str(abs(value)).rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


@dataclass(frozen=True, slots=True)
class TradeTick:
    """One aggregated trade of the replay (prices and quantities scaled like the data)."""

    candle: int
    k: int  # position inside the candle's intrabar path
    agg_id: int
    time: int
    price: int
    qty: int
    first_id: int
    last_id: int
    buyer_maker: bool


class SymbolData:
    """All 1m candles of one symbol, time-ordered, as exact scaled integers."""

    def __init__(self, symbol: str, columns: Mapping[str, IntArray], price_dec: int,
                 qty_dec: int, quote_dec: int) -> None:
        self.symbol = symbol
        self.price_dec = price_dec
        self.qty_dec = qty_dec
        self.quote_dec = quote_dec
        self.open_time: IntArray = columns["open_time"]
        self.open: IntArray = columns["open"]
        self.high: IntArray = columns["high"]
        self.low: IntArray = columns["low"]
        self.close: IntArray = columns["close"]
        self.volume: IntArray = columns["volume"]
        self.quote_volume: IntArray = columns["quote_volume"]
        self.count: IntArray = columns["count"]
        self.taker_buy_volume: IntArray = columns["taker_buy_volume"]
        self.taker_buy_quote_volume: IntArray = columns["taker_buy_quote_volume"]
        if len(self.open_time) == 0:
            raise KlineFileError(f"{symbol}: no candles")
        self.path_len: IntArray = _path_lengths(self.open, self.high, self.low, self.close)
        # Each candle owns max(count, path length) trade ids so that every aggregated trade
        # covers at least one trade id; ids are cumulative from the first candle of the data,
        # which makes them identical across restarts.
        self.trade_span: IntArray = np.maximum(self.count, self.path_len)
        self.agg_base: IntArray = 1 + np.concatenate(([0], np.cumsum(self.path_len)[:-1]))
        self.trade_base: IntArray = 1 + np.concatenate(([0], np.cumsum(self.trade_span)[:-1]))

    def __len__(self) -> int:
        return len(self.open_time)

    @property
    def first_open_time(self) -> int:
        return int(self.open_time[0])

    @property
    def last_open_time(self) -> int:
        return int(self.open_time[-1])

    def fmt_price(self, value: int) -> str:
        return format_scaled(value, self.price_dec)

    def fmt_qty(self, value: int) -> str:
        return format_scaled(value, self.qty_dec)

    def fmt_quote(self, value: int) -> str:
        return format_scaled(value, self.quote_dec)

    def index_at(self, time_ms: int) -> int:
        """Index of the last candle opened at or before ``time_ms`` (-1 if none)."""
        return int(np.searchsorted(self.open_time, time_ms, side="right")) - 1

    def path(self, i: int) -> tuple[int, ...]:
        """The intrabar price path of candle ``i`` (scaled integers)."""
        floats = intrabar_path(float(self.open[i]), float(self.high[i]), float(self.low[i]),
                               float(self.close[i]))
        return tuple(int(p) for p in floats)

    def trade_time(self, i: int, k: int) -> int:
        """Trades are evenly spaced inside the minute, the first one at the open time."""
        return int(self.open_time[i]) + (k * MINUTE_MS) // int(self.path_len[i])

    def trades_until(self, i: int, time_ms: int) -> int:
        """How many of candle ``i``'s trades happened at or before ``time_ms``."""
        m = int(self.path_len[i])
        return sum(1 for k in range(m) if self.trade_time(i, k) <= time_ms)

    def cumulative(self, i: int, k: int) -> tuple[int, int, int, int, int]:
        """(volume, quote volume, taker buy volume, taker buy quote, count) after ``k`` trades.

        Each quantity is split over the path in integer parts; after the last trade the sums
        equal the file's row exactly.
        """
        m = int(self.path_len[i])
        return (
            int(self.volume[i]) * k // m,
            int(self.quote_volume[i]) * k // m,
            int(self.taker_buy_volume[i]) * k // m,
            int(self.taker_buy_quote_volume[i]) * k // m,
            int(self.count[i]) * k // m,
        )

    def trade(self, i: int, k: int, path: tuple[int, ...] | None = None) -> TradeTick:
        """The ``k``-th aggregated trade of candle ``i``."""
        if path is None:
            path = self.path(i)
        m = len(path)
        volume = int(self.volume[i])
        span = int(self.trade_span[i])
        base = int(self.trade_base[i])
        price = path[k]
        if k > 0:
            previous = path[k - 1]
        else:
            previous = int(self.close[i - 1]) if i > 0 else price
        return TradeTick(
            candle=i,
            k=k,
            agg_id=int(self.agg_base[i]) + k,
            time=self.trade_time(i, k),
            price=price,
            qty=volume * (k + 1) // m - volume * k // m,
            first_id=base + span * k // m,
            last_id=base + span * (k + 1) // m - 1,
            # A trade below the previous one hit the bid: the buyer was the maker.
            buyer_maker=price < previous,
        )


def _path_lengths(o: IntArray, h: IntArray, low: IntArray, c: IntArray) -> IntArray:
    """Vectorised ``len(intrabar_path(...))``: the path points minus consecutive repeats."""
    rising = c >= o
    first = np.where(rising, low, h)
    second = np.where(rising, h, low)
    length: IntArray = (1 + (first != o).astype(np.int64) + (second != first).astype(np.int64)
                        + (c != second).astype(np.int64))
    return length


def _open_text(path: Path) -> io.TextIOBase:
    name = path.name.lower()
    if name.endswith(".zip"):
        archive = zipfile.ZipFile(path)
        members = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        if len(members) != 1:
            raise KlineFileError(f"{path}: expected one .csv inside the zip, found {members}")
        return io.TextIOWrapper(archive.open(members[0]), encoding="utf-8")
    if name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")  # the caller closes it


def _sample_lines(path: Path, count: int) -> list[str]:
    with _open_text(path) as handle:
        return [line for _, line in zip(range(count), handle, strict=False)]


def _has_header(first: str) -> bool:
    return bool(first) and not first.strip().split(",")[0].strip().lstrip("-").isdigit()


def _text_decimals(lines: Sequence[str]) -> dict[str, int]:
    """Decimals the file prints per column (Binance pads each column to a fixed width)."""
    places = dict.fromkeys(COLUMNS, 0)
    for line in lines:
        for name, field in zip(COLUMNS, line.strip().split(","), strict=False):
            if "." in field:
                places[name] = max(places[name], len(field) - field.index(".") - 1)
    return places


def _read_frame(path: Path, has_header: bool, dtype: type[str] | None = None) -> pd.DataFrame:
    with _open_text(path) as handle:
        frame = pd.read_csv(
            handle,
            header=None,
            skiprows=1 if has_header else 0,
            usecols=list(range(len(COLUMNS))),
            names=list(COLUMNS),
            dtype=dtype,
        )
    return frame


def _scale_exact(values: npt.NDArray[np.float64],
                 min_decimals: int) -> tuple[IntArray, int] | None:
    """Scale float values to integers with the fewest decimals (at least ``min_decimals``)
    that represent all of them.

    Returns None when the magnitudes are too large for float64 to be trusted.
    """
    finite = values[np.isfinite(values)]
    if len(finite) != len(values):
        raise KlineFileError("non-numeric value in a price or volume column")
    for decimals in range(min_decimals, _MAX_DECIMALS + 1):
        scaled = values * 10.0**decimals
        if len(scaled) and float(np.max(np.abs(scaled))) >= _FLOAT_EXACT_LIMIT:
            return None
        rounded = np.rint(scaled)
        if not len(scaled) or float(np.max(np.abs(scaled - rounded))) < 1e-3:
            return rounded.astype(np.int64), decimals
    raise KlineFileError(f"more than {_MAX_DECIMALS} decimals in a column")


def _parse_text_column(texts: Sequence[str]) -> tuple[list[int], int]:
    decimals = max((len(t) - t.index(".") - 1 for t in texts if "." in t), default=0)
    out = []
    for text in texts:
        whole, _, frac = text.strip().partition(".")
        out.append(int(whole + frac.ljust(decimals, "0")))
    return out, decimals


def _load_file(path: Path) -> tuple[dict[str, IntArray], dict[str, int]]:
    sample = _sample_lines(path, 21)
    has_header = _has_header(sample[0]) if sample else False
    printed = _text_decimals(sample[1:] if has_header else sample)
    frame = _read_frame(path, has_header)
    columns: dict[str, IntArray] = {}
    decimals: dict[str, int] = {}
    for name in ("open_time", "close_time", "count"):
        columns[name] = frame[name].to_numpy(dtype=np.int64)
    text_frame: pd.DataFrame | None = None
    for name in _PRICE + _QTY + _QUOTE:
        result = _scale_exact(frame[name].to_numpy(dtype=np.float64), printed[name])
        if result is None:
            if text_frame is None:
                text_frame = _read_frame(path, has_header, dtype=str)
            ints, places = _parse_text_column(text_frame[name].tolist())
            result = (np.array(ints, dtype=np.int64), places)
        columns[name], decimals[name] = result
    open_time = columns["open_time"]
    if len(open_time) and int(open_time.max()) >= _MICROSECOND_THRESHOLD:
        # Newer archives carry microseconds.
        columns["open_time"] = open_time // 1000
        columns["close_time"] = columns["close_time"] // 1000
    return columns, decimals


def _merge(symbol: str, parts: list[tuple[dict[str, IntArray], dict[str, int]]]) -> SymbolData:
    groups = {"price": _PRICE, "qty": _QTY, "quote": _QUOTE}
    target = {g: max(d[c] for _, d in parts for c in cols) for g, cols in groups.items()}
    merged: dict[str, list[IntArray]] = {c: [] for c in COLUMNS}
    for columns, decimals in parts:
        for name in COLUMNS:
            values = columns[name]
            for group, cols in groups.items():
                if name in cols:
                    values = values * 10 ** (target[group] - decimals[name])
            merged[name].append(values)
    joined = {name: np.concatenate(chunks).astype(np.int64) for name, chunks in merged.items()}
    order = np.argsort(joined["open_time"], kind="stable")
    sorted_cols = {name: values[order] for name, values in joined.items()}
    # Overlapping files: keep the first row of each open time.
    _, unique = np.unique(sorted_cols["open_time"], return_index=True)
    final = {name: values[unique] for name, values in sorted_cols.items()}
    return SymbolData(symbol, final, target["price"], target["qty"], target["quote"])


def load_kline_files(paths: Sequence[Path],
                     symbols: Mapping[str, str] | None = None) -> dict[str, SymbolData]:
    """Load archive files; several files of one symbol concatenate in time order.

    ``symbols`` maps a file path or file name to its symbol when the name does not tell it.
    Blocking (reads and parses files): run it in a thread from async code.
    """
    overrides = dict(symbols or {})
    by_symbol: dict[str, list[tuple[dict[str, IntArray], dict[str, int]]]] = {}
    for path in paths:
        path = Path(path)
        symbol = overrides.get(str(path)) or overrides.get(path.name) or symbol_from_filename(path)
        try:
            part = _load_file(path)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise KlineFileError(f"{path}: {e}") from e
        by_symbol.setdefault(symbol.upper(), []).append(part)
    if not by_symbol:
        raise KlineFileError("no data files given")
    return {symbol: _merge(symbol, parts) for symbol, parts in by_symbol.items()}
