"""Market data events that flow from the adapter through the hub to consumers."""

from __future__ import annotations

from dataclasses import dataclass

from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.domain.streams import StreamKey
from binbot.domain.values import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class KlineEvent:
    """A kline stream update; the candle is closed only when Binance says so (``k.x``)."""

    event_time: int
    candle: Candle


@fast_init
@dataclass(frozen=True, slots=True)
class TradeEvent:
    """An aggregated trade: the real-time price."""

    market: Market
    symbol: str
    event_time: int
    trade_time: int
    agg_id: int
    price: float
    quantity: float
    buyer_is_maker: bool


@fast_init
@dataclass(frozen=True, slots=True)
class BookTickerEvent:
    """Best bid and ask."""

    market: Market
    symbol: str
    update_id: int
    event_time: int
    bid_price: float
    bid_qty: float
    ask_price: float
    ask_qty: float


@fast_init
@dataclass(frozen=True, slots=True)
class MarkPriceEvent:
    """USD-M mark price, index price and funding."""

    market: Market
    symbol: str
    event_time: int
    mark_price: float
    index_price: float
    funding_rate: float
    next_funding_time: int


@dataclass(frozen=True, slots=True)
class DepthUpdateEvent:
    """A diff depth update. ``prev_final_update_id`` is USD-M's ``pu`` (None on spot)."""

    market: Market
    symbol: str
    event_time: int
    first_update_id: int
    final_update_id: int
    prev_final_update_id: int | None
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Reconnected:
    """A stream connection was re-established: consumers must resync (backfill, re-snapshot)."""

    streams: tuple[StreamKey, ...]
    attempt: int


@dataclass(frozen=True, slots=True)
class StaleData:
    """No message arrived on these streams for longer than the staleness limit."""

    streams: tuple[StreamKey, ...]
    silent_for_s: float


MarketEvent = (
    KlineEvent
    | TradeEvent
    | BookTickerEvent
    | MarkPriceEvent
    | DepthUpdateEvent
    | Reconnected
    | StaleData
)
