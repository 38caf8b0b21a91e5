"""Stored backtest runs, their equity and trades."""

from __future__ import annotations

from asyncio import to_thread
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from binbot.api.deps import ContainerDep
from binbot.api.queries import backtests as bq
from binbot.api.routers.params import SymbolQuery
from binbot.api.schemas.backtest import BacktestRunDetail, BacktestRunOut, BacktestTradeOut

router = APIRouter(prefix="/api/v1", tags=["backtests"])

RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


@router.get("/backtests", response_model=list[BacktestRunOut])
async def list_runs(container: ContainerDep, symbol: SymbolQuery = None,
                    strategy: Annotated[str | None, Query(max_length=200)] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[BacktestRunOut]:
    """Runs, newest first, with their metrics."""
    return await to_thread(bq.list_runs, container.engine, symbol=symbol, strategy=strategy,
                           limit=limit)


@router.get("/backtests/{run_id}", response_model=BacktestRunDetail)
async def get_run(container: ContainerDep, run_id: RunId) -> BacktestRunDetail:
    run = await to_thread(bq.get_run, container.engine, run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no backtest run {run_id!r}")
    return run


@router.get("/backtests/{run_id}/trades", response_model=list[BacktestTradeOut])
async def run_trades(container: ContainerDep, run_id: RunId,
                     limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
                     after_id: Annotated[int | None, Query(ge=0)] = None
                     ) -> list[BacktestTradeOut]:
    if await to_thread(bq.get_run, container.engine, run_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no backtest run {run_id!r}")
    return await to_thread(bq.run_trades, container.engine, run_id, limit, after_id)
