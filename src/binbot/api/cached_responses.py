"""Whole cached responses of the JSON reads, answered before FastAPI sees the request.

``ReadCache`` already makes the content of a read cost nothing after the first asker in a TTL,
but each request still went through routing, dependency solving, parameter validation, the
exception layers and gzip: about a millisecond of the event loop the bots' ticks run on, per
request. ``CachedReads`` keeps what the application answered to a GET (status 200, body and
headers, compressed or not) until the read it came from expires, and answers the same URL with
it at once, after the same authentication check. A write clears the store with the read cache.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from binbot.api.read_cache import ReadCache

# (path, raw query string, whether gzip is accepted): the URL and the variant GZip would send.
Key = tuple[str, bytes, bool]


@dataclass(frozen=True, slots=True)
class _Kept:
    expires: float
    headers: list[tuple[bytes, bytes]]
    body: bytes


class ResponseStore:
    """Responses by ``Key`` until they expire; the oldest go first past ``max_entries``."""

    def __init__(self, max_entries: int, clock: Callable[[], float]) -> None:
        self._max = max_entries
        self._clock = clock  # the read cache's: ``_Kept.expires`` is on it
        self._kept: OrderedDict[Key, _Kept] = OrderedDict()

    def get(self, key: Key) -> _Kept | None:
        kept = self._kept.get(key)
        if kept is None:
            return None
        if self._clock() >= kept.expires:
            del self._kept[key]
            return None
        return kept

    def put(self, key: Key, kept: _Kept) -> None:
        self._kept[key] = kept
        self._kept.move_to_end(key)
        while len(self._kept) > self._max:
            self._kept.popitem(last=False)

    def clear(self) -> None:
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


@dataclass(slots=True)
class _Note:
    """Filled by ``note`` while the application answers one request."""

    reads: ReadCache | None = None
    generation: int = 0
    expires: float = 0.0


_note: ContextVar[_Note | None] = ContextVar("binbot_cached_read", default=None)


def note(reads: ReadCache, generation: int, expires: float) -> None:
    """The answer being built is a cached read of ``reads`` computed in ``generation``, fresh
    until ``expires`` (monotonic); called by ``ReadCache.json``."""
    slot = _note.get()
    if slot is not None:
        slot.reads, slot.generation, slot.expires = reads, generation, expires


def _accepts_gzip(scope: Scope) -> bool:
    # The same test as starlette's GZipMiddleware: the first Accept-Encoding header.
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            return b"gzip" in value
    return False


class CachedReads:
    """ASGI middleware (outside GZip): answers a fresh cached read without the application.

    ``authenticated(scope)`` must say whether the request may read (the routes' own guard);
    a request that may not goes to the application, which refuses it as usual.
    """

    def __init__(self, app: ASGIApp, reads: ReadCache,
                 authenticated: Callable[[Scope], bool]) -> None:
        self.app = app
        self.reads = reads
        self.authenticated = authenticated

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or self.reads.ttl_s <= 0:
            await self.app(scope, receive, send)
            return
        key: Key = (scope["path"], scope["query_string"], _accepts_gzip(scope))
        kept = self.reads.responses.get(key)
        if kept is not None and self.authenticated(scope):
            await send({"type": "http.response.start", "status": 200,
                        "headers": list(kept.headers)})
            await send({"type": "http.response.body", "body": kept.body})
            return
        await self._answer_and_keep(key, scope, receive, send)

    async def _answer_and_keep(self, key: Key, scope: Scope, receive: Receive,
                               send: Send) -> None:
        slot = _Note()
        token = _note.set(slot)
        start: Message | None = None
        bodies: list[Message] = []

        async def keeping_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                bodies.append(message)
            await send(message)

        try:
            await self.app(scope, receive, keeping_send)
        finally:
            _note.reset(token)
        # Only a whole 200 built from a read that no write has made stale since.
        if (slot.reads is not self.reads or start is None or start["status"] != 200
                or len(bodies) != 1 or bodies[0].get("more_body", False)
                or slot.generation != self.reads.generation):
            return
        headers: Any = start.get("headers", [])
        if any(name.lower() == b"set-cookie" for name, _ in headers):
            return  # a cookie is meant for this client only: never replay it to others
        self.reads.responses.put(key, _Kept(slot.expires, list(headers),
                                            bytes(bodies[0]["body"])))
