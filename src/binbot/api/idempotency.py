"""``Idempotency-Key`` for controls: the same key returns the first call's result, once run."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

T = TypeVar("T")
MAX_KEY_LENGTH = 200


class IdempotencyCache:
    """Results by (scope, key); concurrent duplicates wait for the first call instead of running.

    Failures are remembered too (a retried key must not apply a control that first failed and
    then would succeed later with a different meaning).
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, str], asyncio.Future[object]] = OrderedDict()

    async def run(self, scope: str, key: str | None, call: Callable[[], Awaitable[T]]) -> T:
        if key is None:
            return await call()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ValueError(f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} characters")
        entry = self._entries.get((scope, key))
        if entry is not None:
            self._entries.move_to_end((scope, key))
            result = await asyncio.shield(entry)
            return cast(T, result)
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._entries[(scope, key)] = future
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        try:
            value = await call()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: nobody else may be waiting
            raise
        future.set_result(value)
        return value
