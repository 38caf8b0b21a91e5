"""The one writer of a database: an asyncio task that batches upserts and commits them off-loop.

Producers (stream handlers, bots) call ``upsert`` and go on: rows wait in a bounded queue and are
committed together when ``max_rows`` have gathered or ``max_delay_s`` has passed since the first
of them, whichever comes first. Every database call runs in one dedicated thread, so the event
loop never blocks and writes never race each other. ``flush`` waits until everything queued
before it is committed; ``run`` commits the pending batch and then runs one function in its own
transaction right away (order intents: they must be durable before the order is sent).

Rows with the same primary key within one batch collapse to the last one (an unclosed candle
updated many times a second costs one row per batch), and each row is an upsert
(``INSERT ... ON CONFLICT (key) DO UPDATE``) on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.dml import Insert

from binbot.config.settings import DatabaseSettings
from binbot.storage.database import (
    Synchronous,
    UnsupportedDatabase,
    begin_write,
    set_synchronous,
    write_transaction,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Row = Mapping[str, Any]

DEFAULT_MAX_QUEUED: Final = 10_000
# OperationalError covers "database is locked" once busy_timeout has run out and a dropped
# PostgreSQL connection; both may succeed a moment later.
_RETRY_DELAYS_S: Final = (0.05, 0.25, 1.0)


class WriterClosed(RuntimeError):
    """The writer was not started or has been closed."""


class WriteFailed(RuntimeError):
    """A batch could not be committed; raised by the next ``flush``."""


@dataclass(frozen=True, slots=True)
class _Upsert:
    table: Table
    rows: Sequence[Row]


@dataclass(slots=True)
class _Barrier:
    """Commit everything before it, then (optionally) run ``op`` in its own transaction."""

    future: asyncio.Future[Any]
    op: Callable[[Connection], Any] | None = None
    synchronous: Synchronous | None = None
    stop: bool = False


@dataclass(slots=True)
class _Batch:
    items: list[_Upsert] = field(default_factory=list)
    rows: int = 0
    deadline: float = 0.0


def upsert_statement(table: Table, dialect_name: str) -> Insert:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE SET <every other column>``."""
    if dialect_name == "sqlite":
        sqlite_stmt = sqlite.insert(table)
        keys = [c.name for c in table.primary_key.columns]
        values = {c.name: sqlite_stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        if not values:
            return sqlite_stmt.on_conflict_do_nothing(index_elements=keys)
        return sqlite_stmt.on_conflict_do_update(index_elements=keys, set_=values)
    if dialect_name == "postgresql":
        pg_stmt = postgresql.insert(table)
        keys = [c.name for c in table.primary_key.columns]
        values = {c.name: pg_stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        if not values:
            return pg_stmt.on_conflict_do_nothing(index_elements=keys)
        return pg_stmt.on_conflict_do_update(index_elements=keys, set_=values)
    raise UnsupportedDatabase(dialect_name)


def _dedupe(table: Table, batches: Sequence[Sequence[Row]]) -> list[Row]:
    keys = [c.name for c in table.primary_key.columns]
    if not keys:
        return [row for rows in batches for row in rows]
    latest: dict[tuple[Any, ...], Row] = {}
    for rows in batches:
        for row in rows:
            latest[tuple(row[k] for k in keys)] = row
    return list(latest.values())


def upsert_rows(connection: Connection, table: Table, rows: Sequence[Row]) -> None:
    """Upsert ``rows`` (later duplicates win) inside the caller's transaction."""
    unique = _dedupe(table, [rows])
    if unique:
        connection.execute(upsert_statement(table, connection.dialect.name), unique)


class Writer:
    """One per database. Start it inside the running loop; close it to drain and stop."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_rows: int = 5000,
        max_delay_s: float = 0.25,
        max_queued: int = DEFAULT_MAX_QUEUED,
    ) -> None:
        if max_rows < 1 or max_delay_s <= 0 or max_queued < 1:
            raise ValueError("max_rows and max_queued must be >= 1 and max_delay_s > 0")
        self._engine = engine
        self._max_rows = max_rows
        self._max_delay_s = max_delay_s
        self._queue: asyncio.Queue[_Upsert | _Barrier] = asyncio.Queue(max_queued)
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._error: BaseException | None = None
        self.committed_batches = 0
        self.committed_rows = 0

    @classmethod
    def from_settings(cls, engine: Engine, settings: DatabaseSettings) -> Writer:
        return cls(engine, max_rows=settings.batch_max_rows,
                   max_delay_s=settings.batch_max_delay_s)

    @property
    def engine(self) -> Engine:
        return self._engine

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("writer already started")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="binbot-db-writer")
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="db-writer")

    async def __aenter__(self) -> Writer:
        self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _check_open(self) -> None:
        if self._task is None or self._closing:
            raise WriterClosed("the database writer is not running")
        if self._task.done():
            raise WriterClosed("the database writer task has stopped")

    async def upsert(self, table: Table, rows: Sequence[Row]) -> None:
        """Queue rows for an upsert into ``table``; waits only when the queue is full."""
        self._check_open()
        if rows:
            await self._queue.put(_Upsert(table, list(rows)))

    async def flush(self) -> None:
        """Wait until everything queued so far is committed; raise ``WriteFailed`` if it wasn't."""
        self._check_open()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Barrier(future))
        await future

    async def run(self, op: Callable[[Connection], T], *, synchronous: Synchronous | None = None
                  ) -> T:
        """Run ``op`` in its own write transaction after the pending batch; return its result.

        ``synchronous="FULL"`` makes this one commit survive power loss on SQLite.
        """
        self._check_open()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Barrier(future, op=op, synchronous=synchronous))
        result: T = await future
        return result

    async def close(self) -> None:
        """Commit everything queued, then stop the task and its thread."""
        if self._task is None or self._closing:
            return
        if not self._task.done():
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            await self._queue.put(_Barrier(future, stop=True))
            self._closing = True
            try:
                await future
            finally:
                await self._task
        self._closing = True
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        batch = _Batch()
        pending_get: asyncio.Task[_Upsert | _Barrier] | None = None
        try:
            while True:
                if pending_get is None:
                    pending_get = loop.create_task(self._queue.get())
                timeout = max(0.0, batch.deadline - loop.time()) if batch.items else None
                # The get task survives a timeout, so no queued item can be lost to cancellation.
                done, _ = await asyncio.wait({pending_get}, timeout=timeout)
                if not done:
                    batch = await self._commit(batch)
                    continue
                item = pending_get.result()
                pending_get = None
                if isinstance(item, _Upsert):
                    if not batch.items:
                        batch.deadline = loop.time() + self._max_delay_s
                    batch.items.append(item)
                    batch.rows += len(item.rows)
                    if batch.rows >= self._max_rows:
                        batch = await self._commit(batch)
                    continue
                batch = await self._commit(batch)
                await self._handle_barrier(item)
                if item.stop:
                    return
        finally:
            self._fail_waiters(pending_get)

    def _fail_waiters(self, pending_get: asyncio.Task[_Upsert | _Barrier] | None) -> None:
        """Nobody may wait forever on a writer that has stopped."""
        leftovers: list[_Upsert | _Barrier] = []
        if pending_get is not None:
            if pending_get.done() and not pending_get.cancelled():
                leftovers.append(pending_get.result())
            pending_get.cancel()
        while not self._queue.empty():
            leftovers.append(self._queue.get_nowait())
        for item in leftovers:
            if isinstance(item, _Barrier) and not item.future.done():
                item.future.set_exception(WriterClosed("the database writer has stopped"))

    async def _handle_barrier(self, barrier: _Barrier) -> None:
        if barrier.future.done():  # the waiter was cancelled
            return
        if barrier.op is not None:
            op, synchronous = barrier.op, barrier.synchronous
            try:
                result = await self._in_thread(lambda: self._run_op(op, synchronous))
            except Exception as e:  # handed to the caller of run()
                if not barrier.future.done():
                    barrier.future.set_exception(e)
            else:
                # The caller may have been cancelled while the write ran: the write stands.
                if not barrier.future.done():
                    barrier.future.set_result(result)
            return
        error, self._error = self._error, None
        if error is not None:
            failed = WriteFailed(f"a database write failed: {error}")
            failed.__cause__ = error
            barrier.future.set_exception(failed)
        else:
            barrier.future.set_result(None)

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        assert self._executor is not None  # noqa: S101 - set by start()
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def _commit(self, batch: _Batch) -> _Batch:
        if not batch.items:
            return batch
        for attempt, delay in enumerate((*_RETRY_DELAYS_S, None)):
            try:
                await self._in_thread(lambda: self._write_batch(batch.items))
            except OperationalError as e:
                if delay is None:
                    self._record_failure(batch, e)
                    break
                log.warning("database write failed (attempt %d), retrying: %s", attempt + 1, e)
                await asyncio.sleep(delay)
            except Exception as e:  # not transient: report it on flush, keep writing
                self._record_failure(batch, e)
                break
            else:
                self.committed_batches += 1
                self.committed_rows += batch.rows
                break
        return _Batch()

    def _record_failure(self, batch: _Batch, error: BaseException) -> None:
        log.error("dropping a batch of %d rows that could not be written: %s", batch.rows, error)
        if self._error is None:
            self._error = error

    def _write_batch(self, items: Sequence[_Upsert]) -> None:
        by_table: dict[str, tuple[Table, list[Sequence[Row]]]] = {}
        for item in items:
            by_table.setdefault(item.table.fullname, (item.table, []))[1].append(item.rows)
        with write_transaction(self._engine) as connection:
            for table, row_lists in by_table.values():
                rows = _dedupe(table, row_lists)
                connection.execute(upsert_statement(table, connection.dialect.name), rows)

    def _run_op(self, op: Callable[[Connection], T], synchronous: Synchronous | None) -> T:
        if synchronous is None:
            with write_transaction(self._engine) as connection:
                return op(connection)
        with self._engine.connect() as raw:
            previous = _current_synchronous(raw)
            set_synchronous(raw, synchronous)
            try:
                with begin_write(raw) as connection:
                    return op(connection)
            finally:
                if previous is not None:
                    set_synchronous(raw, previous)


_SYNCHRONOUS_NAMES: Final[dict[int, Synchronous]] = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def _current_synchronous(connection: Connection) -> Synchronous | None:
    if connection.dialect.name != "sqlite":
        return None
    driver: Any = connection.connection.driver_connection
    (level,) = driver.execute("PRAGMA synchronous").fetchone()
    return _SYNCHRONOUS_NAMES.get(int(level), "NORMAL")
