"""Overlap dedupe by (stream, sequence key), for make-before-break rotations.

While two sockets carry the same streams, each message arrives twice; a message whose key is not
newer than the last one delivered on that stream is dropped. The key is the venue's own sequence:
aggregate trade id, book update id, event time, or (open time, event time, closed) for klines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from binbot.domain.market_events import (
    BookTickerEvent,
    DepthUpdateEvent,
    KlineEvent,
    MarkPriceEvent,
    TradeEvent,
)

_KEY: Final[dict[type, Callable[[Any], Any]]] = {
    TradeEvent: lambda e: e.agg_id,
    BookTickerEvent: lambda e: e.update_id,
    DepthUpdateEvent: lambda e: e.final_update_id,
    MarkPriceEvent: lambda e: e.event_time,
    KlineEvent: lambda e: (e.candle.open_time, e.event_time, e.candle.closed),
}


class Deduper:
    """Remembers the last key per stream name."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[str, Any] = {}

    def is_new(self, stream: str, event: object) -> bool:
        key_of = _KEY.get(type(event))
        if key_of is None:
            return True
        key = key_of(event)
        last = self._last.get(stream)
        if last is not None and key <= last:
            return False
        self._last[stream] = key
        return True

    def forget(self, streams: Iterable[str]) -> None:
        """After a break (not an overlap) the venue may restart sequences: start afresh."""
        for stream in streams:
            self._last.pop(stream, None)
