"""Stream names and categories, request weights, fault specs, the virtual clock."""

from __future__ import annotations

import pytest

from binbot.domain.market import Market
from binbot.exchange.clock import VirtualClock
from binbot.exchange.faults import FaultController, FaultSpecError
from binbot.exchange.ratelimit import WeightLimiter
from binbot.exchange.streams import Category, Kind, deliverable, parse_stream

SYMBOLS = {"BTCUSDT", "FILUSDT"}


def test_parse_stream_names() -> None:
    kline = parse_stream("btcusdt@kline_15m")
    assert kline is not None
    assert (kline.kind, kline.symbol, kline.interval) == (Kind.KLINE, "BTCUSDT", "15m")
    cont = parse_stream("btcusdt_perpetual@continuousKline_1h")
    assert cont is not None
    assert (cont.kind, cont.contract_type) == (Kind.CONTINUOUS_KLINE, "PERPETUAL")
    mark = parse_stream("filusdt@markPrice@1s")
    assert mark is not None
    assert mark.kind is Kind.MARK_PRICE_1S
    depth = parse_stream("btcusdt@depth20@100ms")
    assert depth is not None
    assert depth.kind is Kind.DEPTH
    for bad in ("BTCUSDT@aggTrade", "btcusdt", "btcusdt@nonsense", "btcusdt_weekly@kline_1m"):
        assert parse_stream(bad) is None


@pytest.mark.parametrize(("name", "venue", "category", "expected"), [
    ("btcusdt@aggTrade", Market.USDM, Category.MARKET, True),
    ("btcusdt@aggTrade", Market.USDM, Category.PUBLIC, False),
    ("btcusdt@bookTicker", Market.USDM, Category.PUBLIC, True),
    ("btcusdt@bookTicker", Market.USDM, Category.MARKET, False),
    ("btcusdt@kline_1m", Market.USDM, Category.MARKET, True),
    ("btcusdt@markPrice@1s", Market.USDM, Category.MARKET, True),
    ("btcusdt@markPrice", Market.SPOT, None, False),
    ("btcusdt_perpetual@continuousKline_1m", Market.SPOT, None, False),
    ("btcusdt_current_quarter@continuousKline_1m", Market.USDM, Category.MARKET, False),
    ("btcusdt@bookTicker", Market.SPOT, None, True),
    ("btcusdt@kline_1M", Market.SPOT, None, False),
    ("ethusdt@aggTrade", Market.SPOT, None, False),  # not loaded
])
def test_deliverability_follows_binance_routing(name: str, venue: Market,
                                                category: Category | None,
                                                expected: bool) -> None:
    stream = parse_stream(name)
    assert stream is not None
    assert deliverable(stream, venue, category, SYMBOLS) is expected


class Wall:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_weight_windows_are_per_minute_venue_and_ip() -> None:
    wall = Wall(960_020.0)  # 20 s into a minute
    limiter = WeightLimiter({Market.USDM: 10, Market.SPOT: 5}, wall)
    assert limiter.charge(Market.USDM, "a", 6).used == 6
    refused = limiter.charge(Market.USDM, "a", 5)
    assert not refused.allowed
    assert refused.retry_after_s == 40  # until the minute ends
    assert limiter.charge(Market.USDM, "b", 5).allowed
    assert limiter.charge(Market.SPOT, "a", 5).allowed
    wall.now += 40
    assert limiter.charge(Market.USDM, "a", 10).used == 10


def test_rest_faults_are_consumed_in_order() -> None:
    faults = FaultController(Wall(0.0))
    faults.apply({"kind": "rest_429", "count": 2, "path": "/fapi/"})
    faults.apply({"kind": "rest_5xx", "variant": "internal"})
    assert faults.take_rest_fault("/api/v3/time") is not None  # the 5xx (path-free)
    assert faults.take_rest_fault("/api/v3/time") is None
    first = faults.take_rest_fault("/fapi/v1/time")
    assert first is not None
    assert first.status == 429
    assert faults.take_rest_fault("/fapi/v1/time") is not None
    assert faults.take_rest_fault("/fapi/v1/time") is None
    with pytest.raises(FaultSpecError):
        faults.apply({"kind": "malformed", "mode": "emoji"})


def test_virtual_clock_runs_at_speed_from_its_anchor() -> None:
    wall = Wall(1000.0)
    clock = VirtualClock(start_ms=5_000_000, anchor_wall_ms=999_000, speed=60.0, wall=wall)
    assert clock.now_ms() == 5_000_000 + 60_000
    wall.now += 0.5
    assert clock.now_ms() == 5_000_000 + 90_000
    assert clock.wall_seconds_until(5_000_000 + 150_000) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        VirtualClock(0, 0, 0.0)
