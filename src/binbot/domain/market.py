"""Markets and candle intervals."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Market(StrEnum):
    """Where an instrument trades."""

    USDM = "usdm"  # USD-M perpetual futures
    SPOT = "spot"


class InvalidInterval(ValueError):
    """An interval string that Binance does not know."""


MINUTE_MS: Final = 60_000

_INTERVAL_MS: Final[dict[str, int]] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
    "3d": 3 * 1440 * MINUTE_MS,
    "1w": 7 * 1440 * MINUTE_MS,
}

INTERVALS: Final[tuple[str, ...]] = tuple(_INTERVAL_MS)


def interval_ms(interval: str) -> int:
    """Return the length of a fixed-size Binance interval in milliseconds.

    ``1M`` (calendar month) is deliberately absent: its length varies, and nothing in binbot
    aggregates by month.
    """
    try:
        return _INTERVAL_MS[interval]
    except KeyError:
        allowed = ", ".join(INTERVALS)
        raise InvalidInterval(f"unknown interval, was {interval!r}; allowed: {allowed}") from None


def interval_start(time_ms: int, interval: str) -> int:
    """Return the open time of the ``interval`` candle containing ``time_ms``.

    Binance aligns every fixed interval to the Unix epoch, except ``1w`` which starts on Monday
    (the epoch was a Thursday, so weeks are shifted by four days).
    """
    length = interval_ms(interval)
    if interval == "1w":
        offset = 4 * 1440 * MINUTE_MS
        return time_ms - ((time_ms - offset) % length)
    return time_ms - (time_ms % length)
