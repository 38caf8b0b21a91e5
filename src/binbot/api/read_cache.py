"""A short-lived cache for read endpoints, shared by every client.

A hundred phones refreshing once a second ask for the same few snapshots; computing each once
per ``ttl_s`` (and once for all concurrent askers: single flight) keeps the API's work off the
event loop the bots run on. Live changes still reach pages at once over SSE/WebSocket; a cached
read is at most ``ttl_s`` old. ``ttl_s = 0`` disables it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Response
from pydantic import TypeAdapter

from binbot.api import cached_responses

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Entry:
    created: float
    generation: int
    future: asyncio.Future[Any]


class ReadCache:
    def __init__(self, ttl_s: float, max_entries: int = 512,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._max = max_entries
        self._clock = clock  # seconds, monotonic: what ``ttl_s`` is measured on
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        # Whole responses of the JSON reads, served by ``CachedReads`` without FastAPI.
        self.responses = cached_responses.ResponseStore(max_entries, clock)
        self.generation = 0  # bumped by ``clear``: what was computed before is not kept after
        self.hits = 0
        self.misses = 0

    async def thread(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a worker thread, shared while fresh.

        The key is the function and its arguments after the first (the engine or container).
        """
        value: T = (await self._shared(fn, args, kwargs))[1]
        return value

    async def _shared(self, fn: Callable[..., Any], args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> tuple[_Entry | None, Any]:
        """The value and the entry it is kept in (``None`` with the cache off)."""
        if self.ttl_s <= 0:
            return None, await asyncio.to_thread(fn, *args, **kwargs)
        key = (fn, tuple(map(repr, args[1:])), tuple(sorted((k, repr(v))
                                                            for k, v in kwargs.items())))
        now = self._clock()
        found = self._entries.get(key)
        if found is not None and now - found.created < self.ttl_s and not (
                found.future.done() and found.future.exception() is not None):
            self.hits += 1
            self._entries.move_to_end(key)
        else:
            self.misses += 1
            found = _Entry(now, self.generation, asyncio.ensure_future(
                asyncio.to_thread(fn, *args, **kwargs)))
            self._entries[key] = found
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return found, await asyncio.shield(found.future)

    async def json(self, model: Any, fn: Callable[..., Any], *args: Any,
                   **kwargs: Any) -> Response:
        """Like ``thread``, but cached as the rendered JSON of ``model`` (a pydantic model or a
        type such as ``list[BotOut]``): a hit costs no validation and no serialisation."""
        adapter = _adapter(model)

        def render(*a: Any, **k: Any) -> bytes:
            return adapter.dump_json(adapter.validate_python(fn(*a, **k), from_attributes=True))

        render.__qualname__ = f"render:{getattr(fn, '__qualname__', fn)}"
        entry, body = await self._shared(_Keyed(fn, render), args, kwargs)
        if entry is not None:
            cached_responses.note(self, entry.generation, entry.created + self.ttl_s)
        return Response(content=body, media_type="application/json")

    def clear(self) -> None:
        """Forget everything (after a control changed what the reads would show)."""
        self.generation += 1
        self._entries.clear()
        self.responses.clear()


class _Keyed:
    """A callable that renders with ``render`` but is keyed (hashed) like ``fn``."""

    def __init__(self, fn: Callable[..., Any], render: Callable[..., bytes]) -> None:
        self._fn = fn
        self._render = render

    def __call__(self, *args: Any, **kwargs: Any) -> bytes:
        return self._render(*args, **kwargs)

    def __hash__(self) -> int:
        return hash(("json", self._fn))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Keyed) and other._fn == self._fn


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(model: Any) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    return adapter


class ForgetReadsOnWrites:
    """ASGI middleware: a POST/PUT/PATCH/DELETE (a control, a new bot) clears the read cache, so
    the reads that follow it show its effect."""

    def __init__(self, app: Any, reads: ReadCache) -> None:
        self.app = app
        self.reads = reads

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            try:
                await self.app(scope, receive, send)
            finally:
                self.reads.clear()
            return
        await self.app(scope, receive, send)
