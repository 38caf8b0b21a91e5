"""The read endpoints' shared cache: computed once per TTL for every concurrent asker."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from binbot.api.read_cache import ReadCache
from tests.unit.api.conftest import ManualClock


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def compute(self, _engine: object, value: int, *, scale: int = 1) -> int:
        with self.lock:
            self.calls += 1
        time.sleep(0.05)
        return value * scale


async def test_concurrent_askers_share_one_computation_until_it_expires() -> None:
    clock = ManualClock()
    cache, counter = ReadCache(ttl_s=0.5, clock=clock), Counter()
    results = await asyncio.gather(*(cache.thread(counter.compute, "engine", 3, scale=2)
                                     for _ in range(50)))
    assert results == [6] * 50
    assert counter.calls == 1
    assert await cache.thread(counter.compute, "engine", 4) == 4  # other arguments: computed
    assert counter.calls == 2
    clock.advance(0.25)  # (binary fractions: exact sums)
    assert await cache.thread(counter.compute, "engine", 3, scale=2) == 6
    assert counter.calls == 2  # still fresh
    clock.advance(0.25)
    assert await cache.thread(counter.compute, "engine", 3, scale=2) == 6
    assert counter.calls == 3  # expired after exactly ttl_s


async def test_zero_ttl_computes_every_time_and_clear_forgets() -> None:
    off, counter = ReadCache(ttl_s=0), Counter()
    await off.thread(counter.compute, None, 1)
    await off.thread(counter.compute, None, 1)
    assert counter.calls == 2
    on = ReadCache(ttl_s=60)
    await on.thread(counter.compute, None, 1)
    on.clear()
    await on.thread(counter.compute, None, 1)
    assert counter.calls == 4


async def test_a_failure_is_not_kept() -> None:
    cache = ReadCache(ttl_s=60)
    attempts = []

    def flaky(_engine: object) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database is locked")
        return "ok"

    with pytest.raises(RuntimeError):
        await cache.thread(flaky, None)
    assert await cache.thread(flaky, None) == "ok"
