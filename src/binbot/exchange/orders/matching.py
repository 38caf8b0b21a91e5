"""Matching against the replayed market: every replayed trade is shown to resting orders.

``Matcher`` stands between the market engine and the WebSocket hub: the hub gets each event
first (so a fill's user event never precedes the trade that caused it on the market streams),
then every account with resting orders on that symbol sees the trade price. While it runs,
``current_ms`` is the trade's time, which is when the resulting fills happen.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from binbot.exchange.aggregate import Bar
from binbot.exchange.decimals import from_scaled
from binbot.exchange.klinedata import TradeTick
from binbot.exchange.market import MarketListener, SymbolMarket
from binbot.exchange.orders.spot import SpotBook
from binbot.exchange.orders.usdm import FuturesBook


class Matcher:
    def __init__(self, inner: MarketListener | None) -> None:
        self.inner = inner
        self.usdm: list[FuturesBook] = []
        self.spot: list[SpotBook] = []
        self.current_ms: int | None = None

    def attach(self, usdm: Iterable[FuturesBook], spot: Iterable[SpotBook]) -> None:
        self.usdm = list(usdm)
        self.spot = list(spot)

    def on_trade(self, market: SymbolMarket, trade: TradeTick) -> None:
        if self.inner is not None:
            self.inner.on_trade(market, trade)
        symbol = market.symbol
        price: Decimal | None = None
        self.current_ms = trade.time
        try:
            for usdm in self.usdm:
                if usdm.has_resting(symbol):
                    price = price or from_scaled(trade.price, market.data.price_dec)
                    usdm.on_trade(symbol, price)
            for spot in self.spot:
                if spot.has_resting(symbol):
                    price = price or from_scaled(trade.price, market.data.price_dec)
                    spot.on_trade(symbol, price)
        finally:
            self.current_ms = None

    def on_kline(self, market: SymbolMarket, interval: str, bar: Bar, closed: bool,
                 event_time: int) -> None:
        if self.inner is not None:
            self.inner.on_kline(market, interval, bar, closed, event_time)

    def on_mark(self, market: SymbolMarket, event_time: int) -> None:
        if self.inner is not None:
            self.inner.on_mark(market, event_time)
