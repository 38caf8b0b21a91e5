"""Every parser against Binance's real payloads in shared/fixtures/binance (exact values)."""

from __future__ import annotations

import itertools
from decimal import Decimal

import msgspec

from binbot.adapters.binance import parsing
from binbot.adapters.binance.wire import (
    WireAggTrade,
    WireBookTicker,
    WireContinuousKline,
    WireDepthSnapshot,
    WireDepthUpdate,
    WireExchangeInfo,
    WireKline,
    WireKlineRow,
    WireMarkPrice,
    WirePremiumIndex,
    WireServerTime,
    WireTickerPrice,
)
from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.domain.market_events import (
    BookTickerEvent,
    DepthUpdateEvent,
    KlineEvent,
    MarkPriceEvent,
    TradeEvent,
)
from tests.unit.adapters.binance.fakes import fixture_bytes

NOW = 1_800_000_000_000  # after every fixture's close time


def decode(kind: type, path: str):  # type: ignore[no-untyped-def]
    return msgspec.json.decode(fixture_bytes(path), type=kind)


def test_kline_stream_closed_and_open() -> None:
    closed = parsing.kline_event(
        decode(WireKline, "futures/market_data_json/kline_stream_closed.json"), Market.USDM
    )
    assert closed == KlineEvent(
        1638747660000,
        Candle(Market.USDM, "BTCUSDT", "1m", 1638747660000, 1638747719999, 0.001, 0.0025, 0.001,
               0.002, 1000.0, 1.0, 100, 500.0, 0.5, True),
    )
    forming = parsing.kline_event(
        decode(WireKline, "futures/market_data_json/kline_stream_open.json"), Market.USDM
    )
    assert forming.candle.closed is False
    assert forming.candle.low == 0.0015


def test_agg_trade_streams() -> None:
    futures = parsing.trade_event(
        decode(WireAggTrade, "futures/market_data_json/agg_trade_stream.json"), Market.USDM
    )
    assert futures == TradeEvent(
        Market.USDM, "BTCUSDT", 123456789, 123456785, 5933014, 0.001, 100.0, True
    )
    envelope = msgspec.json.decode(fixture_bytes("recorded/ws_messages/ws_spot_agg_trade.json"))
    spot = parsing.trade_event(
        msgspec.convert(envelope["data"], WireAggTrade), Market.SPOT
    )
    assert spot == TradeEvent(
        Market.SPOT, "ETHUSDT", 1675759520848, 1675759520847, 226532, 1632.46, 0.34305, False
    )


def test_book_ticker_streams() -> None:
    futures = parsing.book_ticker_event(
        decode(WireBookTicker, "futures/market_data_json/book_ticker_stream.json"), Market.USDM
    )
    assert futures == BookTickerEvent(
        Market.USDM, "BNBUSDT", 400900217, 1568014460893, 25.3519, 31.21, 25.3652, 40.66
    )
    recorded = parsing.book_ticker_event(
        decode(WireBookTicker, "recorded/ws_messages/ws_futures_book_ticker.json"), Market.USDM
    )
    assert recorded == futures
    envelope = msgspec.json.decode(fixture_bytes("recorded/ws_messages/ws_spot_ticker_book.json"))
    spot = parsing.book_ticker_event(msgspec.convert(envelope["data"], WireBookTicker), Market.SPOT)
    assert spot == BookTickerEvent(
        Market.SPOT, "ETHUSDT", 12711621188, 1646199228123, 4507.24, 2.3595, 4507.25, 2.8457
    )
    # Spot bookTicker payloads without an event time still parse.
    bare = msgspec.json.decode(
        b'{"u":1,"s":"BNBUSDT","b":"1.0","B":"2","a":"1.1","A":"3"}', type=WireBookTicker
    )
    assert parsing.book_ticker_event(bare, Market.SPOT).event_time == 0


def test_mark_price_stream() -> None:
    event = parsing.mark_price_event(
        decode(WireMarkPrice, "futures/market_data_json/mark_price_stream.json")
    )
    assert event == MarkPriceEvent(
        Market.USDM, "BTCUSDT", 1562305380000, 11794.15, 11784.62659091, 0.00038167, 1562306400000
    )


def test_depth_update_streams() -> None:
    small = parsing.depth_update_event(
        decode(WireDepthUpdate, "futures/market_data_json/depth_update_stream.json"), Market.USDM
    )
    assert small == DepthUpdateEvent(
        Market.USDM, "BTCUSDT", 123456789, 157, 160, 149, ((0.0024, 10.0),), ((0.0026, 100.0),)
    )
    recorded = parsing.depth_update_event(
        decode(WireDepthUpdate, "recorded/ws_messages/ws_futures_depth_update.json"), Market.USDM
    )
    assert (recorded.first_update_id, recorded.final_update_id) == (390497796, 390497878)
    assert recorded.prev_final_update_id == 390497794
    assert recorded.bids[0] == (7403.89, 0.002)
    assert recorded.bids[-1] == (7405.43, 2.562)
    assert recorded.asks[0] == (7405.96, 3.34)
    assert len(recorded.asks) == 5
    diff = parsing.depth_update_event(
        decode(WireDepthUpdate, "recorded/ws_messages/ws_futures_depth_diff_update.json"),
        Market.USDM,
    )
    assert diff == small
    spot = parsing.depth_update_event(
        decode(WireDepthUpdate, "futures/market_data_json/depth_update_stream.json"), Market.SPOT
    )
    assert spot.prev_final_update_id is None


def test_continuous_kline_payload_from_the_docs() -> None:
    payload = (
        b'{"e":"continuous_kline","E":1607443058651,"ps":"BTCUSDT","ct":"PERPETUAL","k":{'
        b'"t":1607443020000,"T":1607443079999,"i":"1m","f":116467658886,"L":116468012423,'
        b'"o":"18787.00","c":"18804.04","h":"18804.04","l":"18786.54","v":"197.664","n":543,'
        b'"x":false,"q":"3715253.19494","V":"184.769","Q":"3472925.84746","B":"0"}}'
    )
    event = parsing.continuous_kline_event(msgspec.json.decode(payload, type=WireContinuousKline))
    assert event == KlineEvent(
        1607443058651,
        Candle(Market.USDM, "BTCUSDT", "1m", 1607443020000, 1607443079999, 18787.0, 18804.04,
               18786.54, 18804.04, 197.664, 3715253.19494, 543, 184.769, 3472925.84746, False),
    )


def test_rest_klines_rows() -> None:
    rows = decode(list[WireKlineRow], "recorded/http_responses/http_futures_market_klines.json")
    (candle,) = parsing.candles_from_rows(rows, Market.USDM, "BTCUSDT", "1w", NOW)
    assert candle == Candle(
        Market.USDM, "BTCUSDT", "1w", 1499040000000, 1499644799999, 0.0163479, 0.8, 0.015758,
        0.015771, 148976.11427815, 2434.19055334, 308, 1756.87402397, 28.46694368, True,
    )
    spot_rows = decode(list[WireKlineRow], "recorded/http_responses/http_spot_market_klines.json")
    spot = parsing.candles_from_rows(spot_rows, Market.SPOT, "BTCUSDT", "1m", NOW)
    assert spot[0].open_time == 1634943780000
    assert spot[0].open == 60685.22
    assert spot[1].close == 60771.81
    assert spot[1].trades == 769
    assert all(b.open_time - a.open_time == 60_000 for a, b in itertools.pairwise(spot))
    continuous = decode(
        list[WireKlineRow], "recorded/http_responses/http_futures_market_continuous_klines.json"
    )
    (perp,) = parsing.candles_from_rows(continuous, Market.USDM, "BTCUSDT", "1m", NOW)
    assert (perp.open, perp.high, perp.low, perp.close) == (18879.99, 18900.0, 18878.98, 18896.13)
    assert perp.taker_buy_quote_volume == 7292402.33267


def test_rest_kline_closed_flag_follows_server_time() -> None:
    rows = decode(list[WireKlineRow], "spot/http_json/klines_response.json")
    (forming,) = parsing.candles_from_rows(rows, Market.SPOT, "LTCBTC", "1w", 1499644799999)
    assert forming.closed is False
    (closed,) = parsing.candles_from_rows(rows, Market.SPOT, "LTCBTC", "1w", 1499644800000)
    assert closed.closed is True


def test_usdm_exchange_info_instruments() -> None:
    info = decode(
        WireExchangeInfo, "recorded/http_responses/http_futures_market_exchange_info.json"
    )
    instruments = {i.symbol: i for i in parsing.instruments(info, Market.USDM)}
    assert set(instruments) == {"BTCUSDT", "ETHUSDT", "BTCUSDT_220325"}
    btc = instruments["BTCUSDT"]
    assert (btc.base_asset, btc.quote_asset, btc.status) == ("BTC", "USDT", "TRADING")
    assert btc.tick_size == Decimal("0.10")
    assert btc.min_price == Decimal("402")
    assert btc.max_price == Decimal("1246396.60")
    assert (btc.step_size, btc.min_qty, btc.max_qty) == (
        Decimal("0.001"), Decimal("0.001"), Decimal("1000")
    )
    assert btc.market_step_size == Decimal("0.001")
    assert btc.market_max_qty == Decimal("1000")
    assert btc.min_notional == Decimal("10")
    assert [(r.rateLimitType, r.limit) for r in info.rateLimits] == [
        ("REQUEST_WEIGHT", 6000), ("ORDERS", 1200), ("ORDERS", 300)
    ]


def test_spot_exchange_info_instruments() -> None:
    info = decode(WireExchangeInfo, "recorded/http_responses/http_spot_market_exchange_info.json")
    btc = next(i for i in parsing.instruments(info, Market.SPOT) if i.symbol == "BTCUSDT")
    assert btc.tick_size == Decimal("0.01000000")
    assert btc.min_price == Decimal("0.01")
    assert btc.step_size == Decimal("0.00001")
    assert btc.max_qty == Decimal("9000")
    # MARKET_LOT_SIZE stepSize "0" means "use LOT_SIZE".
    assert btc.market_step_size == 0
    assert btc.market_max_qty == Decimal("112.21108820")
    assert btc.round_qty(Decimal("0.123456"), market_order=True) == Decimal("0.12345")
    assert btc.min_notional == Decimal("10")
    empty = decode(WireExchangeInfo, "spot/http_json/exchange_info_response.json")
    (eth,) = parsing.instruments(empty, Market.SPOT)
    assert eth.symbol == "ETHBTC"
    assert eth.tick_size == 0
    assert eth.min_notional == 0


def test_spot_notional_filter_takes_the_stricter_minimum() -> None:
    payload = (
        b'{"symbols":[{"symbol":"X","status":"TRADING","baseAsset":"A","quoteAsset":"B",'
        b'"filters":[{"filterType":"MIN_NOTIONAL","minNotional":"5"},'
        b'{"filterType":"NOTIONAL","minNotional":"7.5","maxNotional":"9000000"}]}]}'
    )
    (inst,) = parsing.instruments(msgspec.json.decode(payload, type=WireExchangeInfo), Market.SPOT)
    assert inst.min_notional == Decimal("7.5")


def test_depth_snapshots() -> None:
    spot = parsing.depth_snapshot(
        decode(WireDepthSnapshot, "recorded/http_responses/http_spot_market_depth.json"),
        Market.SPOT, "BTCUSDT",
    )
    assert spot.last_update_id == 14527958487
    assert spot.bids[0] == (60650.0, 0.00213)
    assert spot.asks[0] == (60650.01, 0.61982)
    assert len(spot.bids) == len(spot.asks) == 10
    futures = parsing.depth_snapshot(
        decode(WireDepthSnapshot, "recorded/http_responses/http_futures_market_depth.json"),
        Market.USDM, "BTCUSDT",
    )
    assert futures.last_update_id == 1027024
    assert futures.bids == ((4.0, 431.0),)
    assert futures.asks == ((4.000002, 12.0),)


def test_ticker_price_time_and_premium_index() -> None:
    futures = decode(
        WireTickerPrice, "recorded/http_responses/http_futures_market_ticker_price.json"
    )
    assert Decimal(futures.price) == Decimal("6000.01")
    assert futures.time == 1589437530011
    spot = decode(WireTickerPrice, "spot/http_json/ticker_price_response.json")
    assert (spot.symbol, Decimal(spot.price)) == ("LTCBTC", Decimal("4.00000200"))
    assert decode(WireServerTime, "spot/http_json/server_time_response.json").serverTime == (
        1499827319559
    )
    premium = parsing.premium_index(
        decode(WirePremiumIndex, "recorded/http_responses/http_futures_market_premium_index.json")
    )
    assert premium == MarkPriceEvent(
        Market.USDM, "BTCUSDT", 1597370495002, 11793.63104562, 11781.8049597, 0.00038246,
        1597392000000,
    )
