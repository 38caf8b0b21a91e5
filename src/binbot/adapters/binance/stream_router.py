"""Sans-I/O hot path of a stream socket: decode, dedupe, hand over to the consumer queue."""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec

from binbot.adapters.binance.dedupe import Deduper
from binbot.adapters.binance.stream_decoder import (
    ControlReply,
    DataEvent,
    ServerShutdown,
    StreamDecoder,
    Unrouted,
)
from binbot.domain.market import Market

log = logging.getLogger(__name__)

Signal = ControlReply | ServerShutdown


class MessageRouter:
    """Feeds raw messages of one market; data events go to ``sink``, signals are returned."""

    __slots__ = ("_decode", "_is_new", "_sink", "dedupe", "delivered", "duplicates", "malformed",
                 "unrouted")

    def __init__(self, market: Market, sink: Callable[[DataEvent], None]) -> None:
        self._decode = StreamDecoder(market).decode
        self.dedupe = Deduper()
        self._is_new = self.dedupe.is_new
        self._sink = sink
        self.delivered = 0
        self.duplicates = 0
        self.malformed = 0
        self.unrouted = 0

    def feed(self, message: bytes | str) -> Signal | None:
        """Route one message; returns a control reply or shutdown notice, else None."""
        try:
            stream, item = self._decode(message)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            self.malformed += 1
            if self.malformed & (self.malformed - 1) == 0:
                log.warning("malformed stream message (%d so far): %s", self.malformed, e)
            return None
        if isinstance(item, (ControlReply, ServerShutdown)):
            return item
        if isinstance(item, Unrouted):
            self.unrouted += 1
            return None
        if self._is_new(stream, item):
            self.delivered += 1
            self._sink(item)
        else:
            self.duplicates += 1
        return None
