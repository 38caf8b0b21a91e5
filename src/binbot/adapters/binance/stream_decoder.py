"""Fast decoding of combined-stream messages into domain events.

The envelope is decoded with ``data`` left raw; the payload struct is then chosen from the stream
name's suffix (cached per stream name), never by trying decoders in turn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import msgspec

from binbot.adapters.binance import parsing
from binbot.adapters.binance.wire import (
    WireAggTrade,
    WireBookTicker,
    WireContinuousKline,
    WireDepthUpdate,
    WireEnvelope,
    WireKline,
    WireMarkPrice,
)
from binbot.domain.market import Market
from binbot.domain.market_events import (
    BookTickerEvent,
    DepthUpdateEvent,
    KlineEvent,
    MarkPriceEvent,
    TradeEvent,
)

DataEvent = KlineEvent | TradeEvent | BookTickerEvent | MarkPriceEvent | DepthUpdateEvent


@dataclass(frozen=True, slots=True)
class ControlReply:
    """The answer to a SUBSCRIBE/UNSUBSCRIBE request; ``error`` is None on success."""

    id: int | str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ServerShutdown:
    """Binance will close this connection soon (maintenance): open a replacement now."""

    event_time: int


@dataclass(frozen=True, slots=True)
class Unrouted:
    """A message on a stream binbot does not parse (kept for counting, never raised)."""

    stream: str


Decoded = DataEvent | ControlReply | ServerShutdown | Unrouted
Route = Callable[[msgspec.Raw], DataEvent]

_MAX_CACHED_ROUTES: Final = 65_536

_kline = msgspec.json.Decoder(WireKline)
_continuous = msgspec.json.Decoder(WireContinuousKline)
_agg_trade = msgspec.json.Decoder(WireAggTrade)
_book_ticker = msgspec.json.Decoder(WireBookTicker)
_mark_price = msgspec.json.Decoder(WireMarkPrice)
_depth = msgspec.json.Decoder(WireDepthUpdate)
_envelope = msgspec.json.Decoder(WireEnvelope)


def _routes_for(market: Market) -> dict[str, Route]:
    """Suffix family -> function decoding the raw payload into a domain event."""
    return {
        "kline": lambda raw: parsing.kline_event(_kline.decode(raw), market),
        "continuousKline": lambda raw: parsing.continuous_kline_event(_continuous.decode(raw)),
        "aggTrade": lambda raw: parsing.trade_event(_agg_trade.decode(raw), market),
        "bookTicker": lambda raw: parsing.book_ticker_event(_book_ticker.decode(raw), market),
        "markPrice": lambda raw: parsing.mark_price_event(_mark_price.decode(raw)),
        "depth": lambda raw: parsing.depth_update_event(_depth.decode(raw), market),
    }


def suffix_family(stream: str) -> str:
    """``btcusdt@kline_1m`` -> ``kline``; ``btcusdt@markPrice@1s`` -> ``markPrice``."""
    _, _, suffix = stream.partition("@")
    for separator in ("_", "@"):
        suffix = suffix.partition(separator)[0]
    return suffix


class StreamDecoder:
    """Decodes one market's combined-stream messages. Sans-I/O and allocation-light."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self._families = _routes_for(market)
        self._routes: dict[str, Route | None] = {}

    def route(self, stream: str) -> Route | None:
        route = self._routes.get(stream, _MISSING)
        if route is _MISSING:
            route = self._families.get(suffix_family(stream))
            if len(self._routes) < _MAX_CACHED_ROUTES:
                self._routes[stream] = route
        return route  # type: ignore[return-value]

    def decode(self, message: bytes | str) -> tuple[str, Decoded]:
        """Return ``(stream name, decoded)``; raises ``msgspec.DecodeError`` on bad payloads."""
        envelope = _envelope.decode(message)
        stream = envelope.stream
        if stream:
            route = self._routes.get(stream) or self.route(stream)
            if route is not None:
                return stream, route(envelope.data)
            if stream.startswith("!serverShutdown") or stream == "serverShutdown":
                return stream, ServerShutdown(_shutdown_time(envelope.data))
            return stream, Unrouted(stream)
        if envelope.e == "serverShutdown":
            return "", ServerShutdown(envelope.E)
        if envelope.id is not None or envelope.error is not None:
            error = f"{envelope.error.code}: {envelope.error.msg}" if envelope.error else None
            return "", ControlReply(envelope.id, error)
        return "", Unrouted("")


_MISSING: Final = object()


class _ShutdownData(msgspec.Struct, gc=False):
    E: int = 0


_shutdown = msgspec.json.Decoder(_ShutdownData)


def _shutdown_time(raw: msgspec.Raw) -> int:
    try:
        return _shutdown.decode(raw).E
    except msgspec.DecodeError:
        return 0
