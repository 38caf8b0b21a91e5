"""Live events: Server-Sent Events for the dashboard, a WebSocket for API clients.

Both read the one ``EventBus``. Each event carries its bus sequence number as ``id`` (SSE) or
``seq`` (WebSocket); a client that fetched ``GET /api/v1/state`` applies only newer ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, WebSocket, WebSocketDisconnect
from fastapi.sse import EventSourceResponse, ServerSentEvent

from binbot.api.deps import ContainerDep, bearer_matches, websocket_container
from binbot.core.event_bus import BusEvent, EventBus

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["live"])
ws_router = APIRouter(prefix="/api/v1")

WS_AUTH_TIMEOUT_S = 5.0
WS_CLOSE_UNAUTHORIZED = 4401  # application close code: like HTTP 401
RETRY_MS = 2000


async def bus_events(bus: EventBus, after_seq: int | None) -> AsyncIterator[BusEvent]:
    """Events from ``bus`` as they are published; first those after ``after_seq`` still kept."""
    with bus.subscribe() as subscription:
        if after_seq is not None:
            for event in bus.recent(after_seq):
                yield event
        async for event in subscription:
            if after_seq is not None and event.seq <= after_seq:
                continue  # already replayed from the recent history
            yield event


@router.get("/stream", response_class=EventSourceResponse)
async def stream(container: ContainerDep,
                 last_event_id: Annotated[str | None, Header(alias="Last-Event-ID",
                                                             max_length=20)] = None,
                 ) -> AsyncIterator[ServerSentEvent]:
    """The dashboard's event stream (tick, candle, order, trade, position, signal, log, ...)."""
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    yield ServerSentEvent(event="hello", data={"last_seq": container.bus.last_seq},
                          retry=RETRY_MS)
    async for event in bus_events(container.bus, after):
        yield ServerSentEvent(id=str(event.seq), event=event.kind, data=event.payload)


def _ws_frame(event: BusEvent) -> str:
    return json.dumps({"seq": event.seq, "kind": event.kind, "payload": event.payload},
                      default=str, separators=(",", ":"))


async def _ws_authenticated(websocket: WebSocket) -> bool:
    container = websocket_container(websocket)
    if container.token is None:
        return True
    if bearer_matches(container, websocket.headers.get("authorization")):
        return True
    # Browsers cannot set headers on a WebSocket: accept the token as the first message.
    try:
        message: Any = await asyncio.wait_for(websocket.receive_json(), WS_AUTH_TIMEOUT_S)
    except (TimeoutError, ValueError, WebSocketDisconnect, KeyError):
        return False
    if not isinstance(message, dict) or message.get("type") != "auth":
        return False
    token = message.get("token")
    return isinstance(token, str) and bearer_matches(container, "Bearer " + token)


@ws_router.websocket("/ws")
async def websocket_events(websocket: WebSocket) -> None:
    """Typed events as JSON ``{"seq", "kind", "payload"}``; auth by bearer header or a first
    message ``{"type": "auth", "token": "..."}`` (never a URL parameter)."""
    await websocket.accept()
    if not await _ws_authenticated(websocket):
        await websocket.close(WS_CLOSE_UNAUTHORIZED, "authentication required")
        return
    bus = websocket_container(websocket).bus
    await websocket.send_text(json.dumps({"type": "hello", "last_seq": bus.last_seq}))

    async def pump() -> None:
        async for event in bus_events(bus, None):
            await websocket.send_text(_ws_frame(event))

    sender = asyncio.create_task(pump())
    try:
        while True:  # only to notice the client leaving; client messages are ignored
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    except WebSocketDisconnect:
        pass
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
