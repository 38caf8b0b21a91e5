"""Whole cached responses of the JSON reads: the same answer as the route, behind the same
guard, forgotten on writes and on expiry."""

from __future__ import annotations

from typing import Any

from starlette.types import Message, Receive, Scope, Send

from binbot.api.cached_responses import CachedReads
from binbot.api.read_cache import ReadCache
from tests.unit.api.conftest import AUTH, CANARY_TOKEN, AppFactory, ManualClock
from tests.unit.api.fake_runtime import FakeRuntime

GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


def _reads(client: Any) -> ReadCache:
    reads: ReadCache = client.fastapi_app.state.container.reads
    return reads


def test_a_stored_answer_equals_the_routes_without_running_it(make_client: AppFactory) -> None:
    client = make_client(reads=ReadCache(60))
    reads = _reads(client)
    for path, encoding in (("/api/v1/trades?limit=50", GZIP), ("/api/v1/trades?limit=50", PLAIN),
                           ("/api/v1/status", GZIP)):
        first = client.get(path, headers={**AUTH, **encoding})
        asked = reads.hits + reads.misses
        second = client.get(path, headers={**AUTH, **encoding})
        assert reads.hits + reads.misses == asked  # answered before the route
        assert second.status_code == first.status_code == 200
        assert second.content == first.content
        assert second.headers == first.headers
    # Each URL and encoding is its own answer (the trades page is large enough to compress).
    assert len(reads.responses) == 3
    compressed = client.get("/api/v1/trades?limit=50", headers={**AUTH, **GZIP})
    assert compressed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in client.get("/api/v1/trades?limit=50",
                                                headers={**AUTH, **PLAIN}).headers
    assert "x-frame-options" in compressed.headers


def test_a_stored_answer_still_needs_authentication(make_client: AppFactory) -> None:
    client = make_client(reads=ReadCache(60))
    assert client.get("/api/v1/status", headers=AUTH).status_code == 200
    assert len(_reads(client).responses) == 1
    assert client.get("/api/v1/status").status_code == 401
    wrong = client.get("/api/v1/status", headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401
    assert client.get("/api/v1/status",
                      headers={"Authorization": f"Bearer {CANARY_TOKEN}"}).status_code == 200


def test_a_write_forgets_the_stored_answers(make_client: AppFactory) -> None:
    client = make_client(runtime=FakeRuntime(), reads=ReadCache(60))
    reads = _reads(client)
    before = client.get("/api/v1/bots", headers=AUTH).json()
    assert before[0]["status"] == "running"
    assert len(reads.responses) == 1
    assert client.post("/api/v1/bots/boll-avax/pause", headers=AUTH).status_code == 200
    assert len(reads.responses) == 0
    assert client.get("/api/v1/bots", headers=AUTH).json()[0]["status"] == "paused"


def test_errors_and_uncached_reads_are_not_stored(make_client: AppFactory) -> None:
    client = make_client(reads=ReadCache(60))
    assert client.get("/api/v1/trades?limit=0", headers=AUTH).status_code == 422
    assert client.get("/api/v1/config", headers=AUTH).status_code == 200
    assert len(_reads(client).responses) == 0


def _value(_engine: object) -> dict[str, int]:
    return {"n": 1}


def _app(reads: ReadCache, clear_while_answering: bool = False, cookie: bool = False) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await reads.json(dict[str, int], _value, None)
        if clear_while_answering:
            reads.clear()  # a write lands while this read is being answered
        if cookie:
            response.set_cookie("session", "for-this-client-only")
        await response(scope, receive, send)
    return app


async def _get(app: Any) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await app({"type": "http", "method": "GET", "path": "/x", "query_string": b"",
               "headers": []}, receive, send)
    return sent


async def test_an_answer_made_stale_by_a_write_is_not_kept() -> None:
    reads = ReadCache(60)
    await _get(CachedReads(_app(reads, clear_while_answering=True), reads, lambda _s: True))
    assert len(reads.responses) == 0
    await _get(CachedReads(_app(reads), reads, lambda _s: True))
    assert len(reads.responses) == 1


async def test_a_stored_answer_expires_with_its_read() -> None:
    clock = ManualClock()
    reads = ReadCache(0.5, clock=clock)
    middleware = CachedReads(_app(reads), reads, lambda _s: True)
    sent = await _get(middleware)
    assert sent[-1]["body"] == b'{"n":1}'
    clock.advance(0.25)  # (binary fractions: exact sums)
    assert reads.responses.get(("/x", b"", False)) is not None
    clock.advance(0.25)
    assert reads.responses.get(("/x", b"", False)) is None
    assert await _get(middleware) == sent
    assert reads.misses == 2


async def test_off_when_the_read_cache_is_off() -> None:
    reads = ReadCache(0)
    await _get(CachedReads(_app(reads), reads, lambda _s: True))
    assert len(reads.responses) == 0


async def test_an_answer_setting_a_cookie_is_never_replayed() -> None:
    reads = ReadCache(60)
    sent = await _get(CachedReads(_app(reads, cookie=True), reads, lambda _s: True))
    assert any(name == b"set-cookie" for name, _ in sent[0]["headers"])
    assert len(reads.responses) == 0
    await _get(CachedReads(_app(reads), reads, lambda _s: True))
    assert len(reads.responses) == 1
