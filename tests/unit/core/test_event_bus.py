from __future__ import annotations

import asyncio

import pytest

from binbot.core.event_bus import EventBus


async def test_subscribers_receive_events_in_order_with_increasing_seq() -> None:
    bus = EventBus()
    received: list[tuple[int, str]] = []

    async def consume() -> None:
        with bus.subscribe() as subscription:
            async for event in subscription:
                received.append((event.seq, event.kind))
                if len(received) == 3:
                    return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    bus.publish("order", {"id": 1})
    bus.publish("tick", {"price": 1.0})
    bus.publish("fill", {"id": 2})
    await asyncio.wait_for(task, 1)
    assert received == [(1, "order"), (2, "tick"), (3, "fill")]
    assert bus.subscriber_count == 0


async def test_slow_subscriber_loses_ticks_before_anything_else() -> None:
    bus = EventBus(subscriber_limit=2)
    stream = bus.subscribe()
    bus.publish("order", {"n": 1})
    bus.publish("tick", {"n": 2})
    bus.publish("fill", {"n": 3})
    kinds = [(await anext(stream)).kind for _ in range(2)]
    assert kinds == ["order", "fill"]
    assert stream.dropped == 1
    stream.close()
    assert bus.subscriber_count == 0


def test_unknown_kind_is_refused_and_recent_skips_ticks() -> None:
    bus = EventBus()
    with pytest.raises(ValueError, match="unknown event kind"):
        bus.publish("bogus", {})
    bus.publish("tick", {})
    order = bus.publish("order", {})
    assert [e.seq for e in bus.recent()] == [order.seq]
    assert bus.recent(after_seq=order.seq) == []
