"""Status, bots, positions, orders, trades, signals, equity and the live-state snapshot."""

from __future__ import annotations

from asyncio import to_thread
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy import Engine

from binbot.api import summary
from binbot.api.deps import ContainerDep
from binbot.api.queries import trading as q
from binbot.api.routers.params import (
    BeforeMs,
    BotIdPath,
    BotIdQuery,
    FromMs,
    Limit,
    SymbolQuery,
    ToMs,
)
from binbot.api.schemas.system import StateOut
from binbot.api.schemas.trading import (
    BotOut,
    EquitySeries,
    OrderOut,
    PositionOut,
    SignalOut,
    StatusOut,
    TradesPage,
)

router = APIRouter(prefix="/api/v1", tags=["trading"])

OrderStatusQuery = Annotated[
    str, Query(pattern=r"^(open|all|[A-Z_]{3,20})$",
               description="open (default), all, or one status such as FILLED")]


def _check_range(from_ms: int | None, to_ms: int | None) -> None:
    if from_ms is not None and to_ms is not None and from_ms > to_ms:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "from_ms must not be after to_ms")


@router.get("/status", response_model=StatusOut)
async def get_status(container: ContainerDep) -> Response:
    return await container.reads.json(StatusOut, summary.status, container)


@router.get("/bots", response_model=list[BotOut])
async def list_bots(container: ContainerDep) -> Response:
    return await container.reads.json(list[BotOut], summary.current_bots, container)


@router.get("/bots/{bot_id}", response_model=BotOut)
async def get_bot(container: ContainerDep, bot_id: BotIdPath) -> BotOut:
    for bot in await to_thread(summary.current_bots, container):
        if bot.bot_id == bot_id:
            return bot
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no bot {bot_id!r}")


@router.get("/positions", response_model=list[PositionOut])
async def list_positions(container: ContainerDep, bot_id: BotIdQuery = None
                         ) -> Response:
    return await container.reads.json(list[PositionOut], q.open_positions, container.engine,
                                      bot_id)


async def _orders(container: ContainerDep, bot_id: str | None, symbol: str | None,
                  mode: str | None, order_status: str, limit: int, before_ms: int | None
                  ) -> Response:
    return await container.reads.json(
        list[OrderOut], q.list_orders, container.engine, bot_id=bot_id, symbol=symbol, mode=mode,
        open_only=order_status == "open",
        status=None if order_status in ("open", "all") else order_status,
        limit=limit, before_ms=before_ms)


@router.get("/orders", response_model=list[OrderOut])
async def list_orders(container: ContainerDep, bot_id: BotIdQuery = None,
                      symbol: SymbolQuery = None, status: OrderStatusQuery = "open",
                      limit: Limit = 200, before_ms: BeforeMs = None) -> Response:
    """Orders, newest first: open ones by default."""
    return await _orders(container, bot_id, symbol, None, status, limit, before_ms)


@router.get("/paper/orders", response_model=list[OrderOut])
async def list_paper_orders(container: ContainerDep, bot_id: BotIdQuery = None,
                            symbol: SymbolQuery = None, status: OrderStatusQuery = "all",
                            limit: Limit = 200, before_ms: BeforeMs = None) -> Response:
    """Orders placed on the simulated (paper) account, newest first."""
    return await _orders(container, bot_id, symbol, "paper", status, limit, before_ms)


@router.get("/trades", response_model=TradesPage)
async def list_trades(container: ContainerDep, bot_id: BotIdQuery = None,
                      symbol: SymbolQuery = None, from_ms: FromMs = None, to_ms: ToMs = None,
                      before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
                      limit: Limit = 100) -> Response:
    """Trades, newest first, with totals over the whole filter (not just the page)."""
    _check_range(from_ms, to_ms)
    return await container.reads.json(
        TradesPage, q.list_trades, container.engine, bot_id=bot_id, symbol=symbol, from_ms=from_ms,
        to_ms=to_ms, before_id=before_id, limit=limit)


@router.get("/signals", response_model=list[SignalOut])
async def list_signals(container: ContainerDep, bot_id: BotIdQuery = None,
                       symbol: SymbolQuery = None, limit: Limit = 100) -> Response:
    return await container.reads.json(list[SignalOut], q.list_signals, container.engine,
                                      bot_id=bot_id, symbol=symbol, limit=limit)


@router.get("/equity", response_model=EquitySeries)
async def equity(container: ContainerDep, bot_id: BotIdQuery = None, from_ms: FromMs = None,
                 to_ms: ToMs = None,
                 max_points: Annotated[int, Query(ge=2, le=10_000)] = 2000) -> Response:
    """Equity over time (one bot, or all bots summed), thinned to ``max_points``."""
    _check_range(from_ms, to_ms)
    return await container.reads.json(EquitySeries, _equity_series, container.engine, bot_id,
                                      from_ms, to_ms, max_points)


def _equity_series(engine: Engine, bot_id: str | None, from_ms: int | None, to_ms: int | None,
                   max_points: int) -> EquitySeries:
    return EquitySeries(bot_id=bot_id,
                        points=q.equity_history(engine, bot_id, from_ms, to_ms, max_points))


def _state(container: ContainerDep) -> StateOut:
    # Read the sequence first: events after it may already be reflected below, and applying
    # them twice is harmless (they carry whole rows), while missing one would not be.
    last_seq = container.bus.last_seq
    engine = container.engine
    return StateOut(
        last_seq=last_seq,
        status=summary.status(container),
        bots=summary.current_bots(container),
        positions=q.open_positions(engine),
        open_orders=q.list_orders(engine, bot_id=None, symbol=None, mode=None, open_only=True,
                                  status=None, limit=200, before_ms=None),
        trades=q.list_trades(engine, bot_id=None, symbol=None, from_ms=None, to_ms=None,
                             before_id=None, limit=50).items,
        signals=q.list_signals(engine, bot_id=None, symbol=None, limit=50),
    )


@router.get("/state", response_model=StateOut)
async def state(container: ContainerDep) -> StateOut:
    """Everything the dashboard shows, with the bus sequence to resume the stream from."""
    return await to_thread(_state, container)
