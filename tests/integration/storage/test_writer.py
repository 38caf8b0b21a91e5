"""The writer task: batching, dedupe, flush, immediate ops, failures, shutdown."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table

from binbot.storage.candle_table import candles
from binbot.storage.writer import WriteFailed, Writer, WriterClosed

M = 60_000


def row(i: int, close: float = 1.0, closed: bool = True) -> dict[str, object]:
    return {"market": "usdm", "symbol": "BTCUSDT", "interval": "1m", "open_time": i * M,
            "close_time": i * M + M - 1, "open": 1.0, "high": 2.0, "low": 0.5, "close": close,
            "volume": 1.0, "quote_volume": 1.0, "trades": 1, "taker_buy_volume": 0.5,
            "taker_buy_quote_volume": 0.5, "closed": closed}


def stored(engine: Engine) -> dict[int, float]:
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT open_time, close FROM candles").all()
    return {int(t): float(c) for t, c in rows}


async def test_rows_are_batched_by_size(engine: Engine) -> None:
    async with Writer(engine, max_rows=10, max_delay_s=60) as writer:
        for i in range(25):
            await writer.upsert(candles, [row(i)])
        await writer.flush()
        # Two full batches of ten, then the flush commits the last five.
        assert writer.committed_batches == 3
        assert writer.committed_rows == 25
    assert len(stored(engine)) == 25


async def test_rows_are_committed_after_the_delay_without_flush(engine: Engine) -> None:
    async with Writer(engine, max_rows=1000, max_delay_s=0.01) as writer:
        await writer.upsert(candles, [row(1)])
        for _ in range(500):
            if writer.committed_rows:
                break
            await asyncio.sleep(0.01)
        assert writer.committed_batches == 1
        assert stored(engine) == {M: 1.0}


async def test_same_key_in_a_batch_keeps_the_last(engine: Engine) -> None:
    async with Writer(engine, max_rows=1000, max_delay_s=60) as writer:
        await writer.upsert(candles, [row(1, 1.0, closed=False), row(2)])
        await writer.upsert(candles, [row(1, 2.0, closed=False)])
        await writer.upsert(candles, [row(1, 3.0)])
        await writer.flush()
        assert writer.committed_batches == 1
    assert stored(engine) == {M: 3.0, 2 * M: 1.0}


async def test_close_drains_the_queue(engine: Engine) -> None:
    writer = Writer(engine, max_rows=1000, max_delay_s=60)
    writer.start()
    await writer.upsert(candles, [row(i) for i in range(7)])
    await writer.close()
    assert len(stored(engine)) == 7
    with pytest.raises(WriterClosed):
        await writer.upsert(candles, [row(8)])


async def test_run_commits_pending_rows_first_and_returns_the_result(engine: Engine) -> None:
    async with Writer(engine, max_rows=1000, max_delay_s=60) as writer:
        await writer.upsert(candles, [row(1), row(2)])
        count = await writer.run(
            lambda c: c.exec_driver_sql("SELECT count(*) FROM candles").scalar_one(),
            synchronous="FULL")
        assert count == 2


async def test_run_propagates_the_error_and_rolls_back(engine: Engine) -> None:
    def failing(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("DELETE FROM candles")
        raise ValueError("boom")

    async with Writer(engine, max_rows=1000, max_delay_s=60) as writer:
        await writer.upsert(candles, [row(1)])
        with pytest.raises(ValueError, match="boom"):
            await writer.run(failing)
        await writer.flush()
    assert stored(engine) == {M: 1.0}


async def test_a_failed_batch_is_reported_on_flush_and_the_writer_goes_on(engine: Engine
                                                                        ) -> None:
    missing = Table("no_such_table", MetaData(), Column("id", Integer, primary_key=True),
                    Column("v", String(4)))
    async with Writer(engine, max_rows=1000, max_delay_s=60) as writer:
        await writer.upsert(missing, [{"id": 1, "v": "x"}])
        with pytest.raises(WriteFailed):
            await writer.flush()
        await writer.upsert(candles, [row(3)])
        await writer.flush()
    assert stored(engine) == {3 * M: 1.0}


async def test_upsert_before_start_is_refused(engine: Engine) -> None:
    with pytest.raises(WriterClosed):
        await Writer(engine).upsert(candles, [row(1)])


async def test_a_caller_cancelled_during_its_write_leaves_the_writer_working(
    engine: Engine,
) -> None:
    started = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow_insert(connection: object) -> None:
        loop.call_soon_threadsafe(started.set)
        import time

        time.sleep(0.2)  # the caller gives up meanwhile
        connection.execute(candles.insert(), [row(0)])  # type: ignore[attr-defined]

    async with Writer(engine, max_rows=1000, max_delay_s=60) as writer:
        caller = asyncio.create_task(writer.run(slow_insert))
        await started.wait()
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        await writer.upsert(candles, [row(1)])
        await writer.flush()  # the writer survived the abandoned result
    assert sorted(stored(engine)) == [0, M]  # the abandoned write still stands
