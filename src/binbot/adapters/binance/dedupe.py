"""Overlap dedupe by (stream, sequence key), for make-before-break rotations.

While two sockets carry the same streams, each message arrives twice; a message whose key is not
newer than the last one delivered on that stream is dropped. The key is the venue's own sequence:
aggregate trade id, book update id, event time, or (open time, event time, closed) for klines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any, Final

from binbot.domain.market_events import (
    BookTickerEvent,
    DepthUpdateEvent,
    KlineEvent,
    MarkPriceEvent,
    TradeEvent,
)

# attrgetter runs in C: this lookup sits on the per-message hot path.
_KEY: Final[dict[type, Callable[[Any], Any]]] = {
    TradeEvent: attrgetter("agg_id"),
    BookTickerEvent: attrgetter("update_id"),
    DepthUpdateEvent: attrgetter("final_update_id"),
    MarkPriceEvent: attrgetter("event_time"),
    KlineEvent: attrgetter("candle.open_time", "event_time", "candle.closed"),
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
        last = self._last
        previous = last.get(stream)
        if previous is not None and key <= previous:
            return False
        last[stream] = key
        return True

    def forget(self, streams: Iterable[str]) -> None:
        """After a break (not an overlap) the venue may restart sequences: start afresh."""
        for stream in streams:
            self._last.pop(stream, None)
