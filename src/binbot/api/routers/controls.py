"""Bot controls: pause, resume, stop, close position. Audit-logged; ``Idempotency-Key`` honoured.

Without a live runtime (``binbot serve``) every control answers 409.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, status

from binbot.api.deps import CallerDep, ContainerDep
from binbot.api.idempotency import MAX_KEY_LENGTH, IdempotencyCache
from binbot.api.routers.params import BotIdPath
from binbot.api.schemas.trading import BotOut
from binbot.api.summary import bot_from_view
from binbot.services.runtime import BotView, ControlRefused, Runtime, UnknownBot

log = logging.getLogger("binbot.audit")
router = APIRouter(prefix="/api/v1", tags=["controls"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1,
                                              max_length=MAX_KEY_LENGTH)]


async def _apply(request: Request, container: ContainerDep, caller: CallerDep, action: str,
                 bot_id: str, key: str | None,
                 pick: Callable[[Runtime], Callable[[str], Awaitable[BotView]]]) -> BotOut:
    runtime = container.runtime
    if runtime is None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            "read-only server: no bots run in this process (binbot serve)")
    cache: IdempotencyCache = request.app.state.idempotency

    async def call() -> BotOut:
        log.info("control %s bot=%s by %s", action, bot_id, caller.actor)
        try:
            view = await pick(runtime)(bot_id)
        except UnknownBot:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no bot {bot_id!r}") from None
        except ControlRefused as e:
            log.info("control %s bot=%s refused: %s", action, bot_id, e)
            raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
        return bot_from_view(view)

    return await cache.run(f"{action}:{bot_id}", key, call)


@router.post("/bots/{bot_id}/pause", response_model=BotOut)
async def pause(request: Request, container: ContainerDep, caller: CallerDep, bot_id: BotIdPath,
                idempotency_key: IdempotencyKey = None) -> BotOut:
    """No new entries; the open position is still managed."""
    return await _apply(request, container, caller, "pause", bot_id, idempotency_key,
                        lambda r: r.pause)


@router.post("/bots/{bot_id}/resume", response_model=BotOut)
async def resume(request: Request, container: ContainerDep, caller: CallerDep,
                 bot_id: BotIdPath, idempotency_key: IdempotencyKey = None) -> BotOut:
    return await _apply(request, container, caller, "resume", bot_id, idempotency_key,
                        lambda r: r.resume)


@router.post("/bots/{bot_id}/stop", response_model=BotOut)
async def stop(request: Request, container: ContainerDep, caller: CallerDep, bot_id: BotIdPath,
               idempotency_key: IdempotencyKey = None) -> BotOut:
    return await _apply(request, container, caller, "stop", bot_id, idempotency_key,
                        lambda r: r.stop)


@router.post("/bots/{bot_id}/close-position", response_model=BotOut)
async def close_position(request: Request, container: ContainerDep, caller: CallerDep,
                         bot_id: BotIdPath, idempotency_key: IdempotencyKey = None) -> BotOut:
    """Close the bot's open position at market."""
    return await _apply(request, container, caller, "close-position", bot_id, idempotency_key,
                        lambda r: r.close_position)
