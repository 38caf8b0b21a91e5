from __future__ import annotations

from binbot.adapters.binance.clock import ClockOffset
from binbot.adapters.binance.weights import (
    RateLimit,
    WeightGate,
    depth_weight,
    klines_weight,
)
from binbot.domain.market import Market
from tests.unit.adapters.binance.fakes import FakeTime


def test_declared_weights() -> None:
    assert [klines_weight(Market.USDM, n) for n in (99, 100, 499, 500, 1000, 1500)] == [
        1, 2, 2, 5, 5, 10
    ]
    assert klines_weight(Market.SPOT, 1000) == 2
    assert [depth_weight(Market.SPOT, n) for n in (100, 500, 1000, 5000)] == [5, 25, 50, 250]
    assert [depth_weight(Market.USDM, n) for n in (50, 100, 500, 1000)] == [2, 5, 10, 20]


async def test_gate_admits_up_to_half_the_budget_then_waits_for_the_next_window() -> None:
    time = FakeTime(start=600.0)  # the start of a minute window
    gate = WeightGate(100, wall=time.wall, sleep=time.sleep)
    for _ in range(5):
        await gate.acquire(10)
    assert time.sleeps == []
    assert gate.used == 50
    await gate.acquire(10)
    assert time.sleeps == [60.0]
    assert gate.used == 10


async def test_gate_trusts_server_weight_headers() -> None:
    time = FakeTime(start=630.0)
    gate = WeightGate(6000, wall=time.wall, sleep=time.sleep)
    gate.configure(RateLimit("REQUEST_WEIGHT", "MINUTE", 1, 1000))
    assert gate.header == "X-MBX-USED-WEIGHT-1M"
    assert gate.budget == 500
    await gate.acquire(1)
    gate.observe({"X-MBX-USED-WEIGHT-1M": "499"})
    await gate.acquire(1)
    assert time.sleeps == []
    await gate.acquire(1)
    assert time.sleeps == [30.0]  # until the window rolls over at 660 s


async def test_gate_closes_for_exactly_retry_after() -> None:
    time = FakeTime(start=1000.0)
    gate = WeightGate(6000, wall=time.wall, sleep=time.sleep)
    gate.close_for(7.0)
    await gate.acquire(1)
    assert time.sleeps == [7.0]


def test_clock_offset_is_the_median_of_rtt_midpoints() -> None:
    wall = [1000.0]
    mono = [0.0]
    clock = ClockOffset(3, wall=lambda: wall[0], mono=lambda: mono[0])
    assert clock.offset_ms == 0.0
    assert not clock.has_samples
    for server_ms, rtt in ((1_000_600, 0.2), (1_000_700, 0.2), (1_005_000, 8.0)):
        timing = clock.start()
        mono[0] += rtt
        clock.record(server_ms, timing)
    # midpoints: 1_000_100, 1_000_100, 1_004_000 -> offsets 500, 600, 1000
    assert clock.offset_ms == 600.0
    assert clock.now_ms() == 1_000_600
