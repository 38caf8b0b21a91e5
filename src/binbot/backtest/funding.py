"""Funding-rate files for USD-M backtests.

Accepted: Binance's public-archive ``fundingRate`` files (``calc_time,funding_interval_hours,
last_funding_rate``, .csv or .zip), the REST history saved as CSV (``fundingTime,fundingRate``)
or any two-column ``time_ms,rate`` CSV with or without a header.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

_PAIRS = (("calc_time", "last_funding_rate"), ("fundingTime", "fundingRate"),
          ("time_ms", "rate"))


class FundingFileError(ValueError):
    """A funding file that cannot be read; names the file."""


def read_funding(paths: Sequence[Path]) -> tuple[tuple[int, Decimal], ...]:
    """``(time_ms, rate)`` pairs from every file, sorted by time (duplicates dropped)."""
    events: dict[int, Decimal] = {}
    for path in paths:
        try:
            frame = pd.read_csv(path, dtype=str)
        except (OSError, ValueError) as e:
            raise FundingFileError(f"{path}: cannot read it: {e}") from None
        columns = next(((t, r) for t, r in _PAIRS if t in frame.columns and r in frame.columns),
                       None)
        first_line = 2
        if columns is None:
            if frame.shape[1] != 2:
                raise FundingFileError(f"{path}: expected columns calc_time/last_funding_rate, "
                                       "fundingTime/fundingRate or time_ms,rate")
            frame = pd.read_csv(path, dtype=str, header=None)
            columns = (frame.columns[0], frame.columns[1])
            first_line = 1
        for line, (time_text, rate_text) in enumerate(
                zip(frame[columns[0]], frame[columns[1]], strict=True), start=first_line):
            try:
                time_ms = int(str(time_text).strip())
                rate = Decimal(str(rate_text).strip())
            except (ValueError, InvalidOperation):
                if line == 1:
                    continue  # a header with other names
                raise FundingFileError(f"{path}: line {line}: not a time and a rate: "
                                       f"{time_text!r}, {rate_text!r}") from None
            if time_ms >= 10**14:  # microseconds, as newer archives print
                time_ms //= 1000
            events.setdefault(time_ms, rate)
    return tuple(sorted(events.items()))
