"""Binance public-archive kline files: names, reading and validation into numpy columns.

Files look like ``BTCUSDT-1m-2024-02.csv`` / ``.csv.gz`` / ``.zip`` (one csv inside), daily ones
``BTCUSDT-1m-2024-02-03.*``. Twelve columns: open_time, open, high, low, close, volume,
close_time, quote_volume, count, taker_buy_volume, taker_buy_quote_volume, ignore. Futures files
carry a header row, older spot files don't; spot files from 2025 on give times in microseconds.
Parsing uses pandas' C parser; validation is vectorised. Any problem raises
``ArchiveFormatError`` naming the file and the 1-based line.
"""

from __future__ import annotations

import gzip
import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from binbot.domain.market import MINUTE_MS, InvalidInterval, Market, interval_ms

ARCHIVE_COLUMNS: Final = (
    "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
    "count", "taker_buy_volume", "taker_buy_quote_volume", "ignore",
)
_INT_COLUMNS: Final = ("open_time", "close_time", "count")
_FLOAT_COLUMNS: Final = ("open", "high", "low", "close", "volume", "quote_volume",
                         "taker_buy_volume", "taker_buy_quote_volume")
_NAME = re.compile(
    r"^(?P<symbol>[A-Z0-9]+)-(?P<interval>\d+[smhdwM])-\d{4}-\d{2}(?:-\d{2})?"
    r"\.(?:csv|csv\.gz|zip)$"
)
# Epoch milliseconds stay below 1e14 until the year 5138; microseconds passed it in 1973.
_MICROSECONDS_FROM: Final = 10**14
_WEEK_OFFSET_MS: Final = 4 * 1440 * MINUTE_MS

Array = np.ndarray[Any, Any]


class ArchiveFormatError(ValueError):
    """A kline file that cannot be imported; names the file and, when known, the line."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.reason = message
        where = f"{path}: line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class KlineColumns:
    """The validated content of one file: times in milliseconds, one array per column."""

    path: Path
    market: Market
    symbol: str
    interval: str
    time_unit: Literal["ms", "us"]
    open_time: Array
    close_time: Array
    open: Array
    high: Array
    low: Array
    close: Array
    volume: Array
    quote_volume: Array
    trades: Array
    taker_buy_volume: Array
    taker_buy_quote_volume: Array

    def __len__(self) -> int:
        return int(self.open_time.shape[0])


def name_parts(path: Path) -> tuple[str, str] | None:
    """``(symbol, interval)`` from an archive file name, or ``None`` if it isn't one."""
    match = _NAME.match(path.name)
    if match is None:
        return None
    return match["symbol"], match["interval"]


def read_kline_file(
    path: Path,
    market: Market = Market.USDM,
    symbol: str | None = None,
    interval: str | None = None,
) -> KlineColumns:
    """Read and validate one file; ``symbol``/``interval`` default to the file name's."""
    parts = name_parts(path)
    if symbol is None or interval is None:
        if parts is None:
            raise ArchiveFormatError(path, "cannot tell symbol and interval from the file name "
                                     "(expected SYMBOL-INTERVAL-YYYY-MM[-DD].csv[.gz]|.zip); "
                                     "pass --symbol and --interval")
        symbol = symbol or parts[0]
        interval = interval or parts[1]
    try:
        step = interval_ms(interval)
    except InvalidInterval as e:
        raise ArchiveFormatError(path, str(e)) from None
    text = _decompressed(path)
    header_lines, body = _split_header(path, text)
    frame = _parse(path, body, header_lines)
    columns = _numeric_columns(path, frame, header_lines)
    unit = _normalise_times(path, columns, header_lines)
    _validate(path, columns, step, interval, header_lines)
    return KlineColumns(
        path=path, market=market, symbol=symbol, interval=interval, time_unit=unit,
        open_time=columns["open_time"], close_time=columns["close_time"],
        open=columns["open"], high=columns["high"], low=columns["low"], close=columns["close"],
        volume=columns["volume"], quote_volume=columns["quote_volume"], trades=columns["count"],
        taker_buy_volume=columns["taker_buy_volume"],
        taker_buy_quote_volume=columns["taker_buy_quote_volume"],
    )


def _decompressed(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ArchiveFormatError(path, f"cannot read the file: {e.strerror or e}") from None
    if not raw:
        raise ArchiveFormatError(path, "the file is empty")
    name = path.name.lower()
    try:
        if name.endswith(".zip") or raw[:4] == b"PK\x03\x04":
            data = _unzip(path, raw)
        elif name.endswith(".gz") or raw[:2] == b"\x1f\x8b":
            data = gzip.decompress(raw)
        else:
            data = raw
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as e:
        raise ArchiveFormatError(path, f"not a valid compressed file: {e}") from None
    if data.isspace():
        raise ArchiveFormatError(path, "the file holds no rows")
    return data


def _unzip(path: Path, raw: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) != 1:
            raise ArchiveFormatError(path, f"a zip must hold exactly one csv, found {len(members)}")
        return archive.read(members[0])


def _split_header(path: Path, data: bytes) -> tuple[int, bytes]:
    end = data.find(b"\n")
    first = data if end < 0 else data[:end]
    field = first.split(b",", 1)[0].strip()
    try:
        float(field)
    except ValueError:
        names = [part.strip().decode("utf-8", "replace") for part in first.split(b",")]
        if len(names) != len(ARCHIVE_COLUMNS):
            raise ArchiveFormatError(path, f"expected {len(ARCHIVE_COLUMNS)} columns, "
                                     f"the header has {len(names)}", 1) from None
        return 1, b"" if end < 0 else data[end + 1:]
    return 0, data


def _parse(path: Path, body: bytes, header_lines: int) -> pd.DataFrame:
    if not body or body.isspace():
        raise ArchiveFormatError(path, "the file holds no rows")
    try:
        frame = pd.read_csv(io.BytesIO(body), header=None, skip_blank_lines=False,
                            engine="c", low_memory=False)
    except pd.errors.ParserError as e:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        if match is None:
            raise ArchiveFormatError(path, f"not a CSV file: {e}") from None
        expected, line, saw = int(match[1]), int(match[2]), int(match[3])
        if expected != len(ARCHIVE_COLUMNS):  # the first row set the width: it is the bad one
            line, saw = 1, expected
        raise ArchiveFormatError(path, f"expected {len(ARCHIVE_COLUMNS)} columns, "
                                 f"found {saw}", line + header_lines) from None
    except (UnicodeDecodeError, ValueError) as e:
        raise ArchiveFormatError(path, f"not a CSV file: {e}") from None
    # A newline after the last row reads as an empty row; only trailing ones are harmless.
    filled = frame.notna().any(axis=1).to_numpy()
    if not filled.any():
        raise ArchiveFormatError(path, "the file holds no rows")
    frame = frame.iloc[: int(np.flatnonzero(filled)[-1]) + 1]
    if frame.shape[1] != len(ARCHIVE_COLUMNS):
        raise ArchiveFormatError(path, f"expected {len(ARCHIVE_COLUMNS)} columns, "
                                 f"found {frame.shape[1]}", 1 + header_lines)
    frame.columns = pd.Index(ARCHIVE_COLUMNS)
    return frame


def _numeric_columns(path: Path, frame: pd.DataFrame, header_lines: int) -> dict[str, Array]:
    empty = frame.isna().to_numpy()
    empty[:, -1] = False  # "ignore" may be anything
    if empty.any():
        row = int(np.flatnonzero(empty.any(axis=1))[0])
        missing = empty[row]
        present = np.flatnonzero(~frame.isna().to_numpy()[row])
        found = int(present[-1]) + 1 if present.size else 0
        if found < len(ARCHIVE_COLUMNS) and missing[found:-1].all():
            reason = f"expected {len(ARCHIVE_COLUMNS)} columns, found {found}"
        else:
            reason = f"empty value in column {ARCHIVE_COLUMNS[int(np.flatnonzero(missing)[0])]}"
        raise ArchiveFormatError(path, reason, row + 1 + header_lines)
    columns: dict[str, Array] = {}
    for name in (*_INT_COLUMNS, *_FLOAT_COLUMNS):
        series = frame[name]
        if not pd.api.types.is_numeric_dtype(series.dtype):
            numbers = pd.to_numeric(series, errors="coerce")
            row = int(np.flatnonzero(numbers.isna().to_numpy())[0])
            raise ArchiveFormatError(
                path, f"{name} is not a number: {str(series.iloc[row])[:40]!r}",
                row + 1 + header_lines)
        values = series.to_numpy()
        if name in _INT_COLUMNS:
            if values.dtype.kind == "f":
                fractional = np.flatnonzero(values != np.floor(values))
                if fractional.size:
                    row = int(fractional[0])
                    raise ArchiveFormatError(path, f"{name} is not an integer: {values[row]!r}",
                                             row + 1 + header_lines)
            columns[name] = values.astype(np.int64)
        else:
            columns[name] = values.astype(np.float64)
    return columns


def _normalise_times(path: Path, columns: dict[str, Array], header_lines: int
                     ) -> Literal["ms", "us"]:
    open_time = columns["open_time"]
    micro = open_time >= _MICROSECONDS_FROM
    if micro.any() and not micro.all():
        row = int(np.flatnonzero(micro != micro[0])[0])
        raise ArchiveFormatError(path, "open_time switches between milliseconds and "
                                 "microseconds", row + 1 + header_lines)
    if not micro[0]:
        return "ms"
    columns["open_time"] = open_time // 1000
    columns["close_time"] = columns["close_time"] // 1000
    return "us"


def _first(mask: Array) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def _validate(path: Path, c: dict[str, Array], step: int, interval: str,
              header_lines: int) -> None:
    open_time, close_time = c["open_time"], c["close_time"]
    offset = _WEEK_OFFSET_MS if interval == "1w" else 0
    prices = np.stack([c["open"], c["high"], c["low"], c["close"]])
    amounts = np.stack([c[name] for name in ("volume", "quote_volume", "taker_buy_volume",
                                             "taker_buy_quote_volume")])
    previous = np.concatenate(([np.iinfo(np.int64).min], open_time[:-1]))
    checks: list[tuple[Any, str]] = [
        (~np.isfinite(prices).all(axis=0) | ~np.isfinite(amounts).all(axis=0),
         "a value is not finite"),
        (open_time < 0, "open_time is negative"),
        (open_time <= previous, "open_time does not increase"),
        ((open_time - offset) % step != 0, f"open_time is not on a {interval} boundary"),
        ((close_time <= open_time) | (close_time >= open_time + step),
         f"close_time does not belong to a {interval} candle opening at open_time"),
        (c["high"] < c["low"], "high < low"),
        ((prices <= 0).any(axis=0), "a price is not positive"),
        ((c["high"] < np.maximum(c["open"], c["close"]))
         | (c["low"] > np.minimum(c["open"], c["close"])), "open/close outside high-low"),
        ((amounts < 0).any(axis=0) | (c["count"] < 0), "a volume or count is negative"),
    ]
    for mask, reason in checks:
        row = _first(mask)
        if row is not None:
            raise ArchiveFormatError(path, reason, row + 1 + header_lines)
