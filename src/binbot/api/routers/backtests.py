"""Stored backtest runs, their equity and trades."""

from __future__ import annotations

from asyncio import to_thread
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import Field, field_validator

from binbot.api.backtest_jobs import BacktestBusy, BacktestJob, BacktestRunner, builtin_strategies
from binbot.api.deps import ContainerDep
from binbot.api.queries import backtests as bq
from binbot.api.routers.params import INTERVAL_PATTERN, MAX_MS, SYMBOL_PATTERN, SymbolQuery
from binbot.api.schemas.backtest import BacktestRunDetail, BacktestRunOut, BacktestTradeOut
from binbot.api.schemas.common import In

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
                     after_id: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None
                     ) -> list[BacktestTradeOut]:
    if await to_thread(bq.get_run, container.engine, run_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no backtest run {run_id!r}")
    return await to_thread(bq.run_trades, container.engine, run_id, limit, after_id)


MAX_BACKTEST_DAYS = 366
ParamValue = float | int | bool | str


class BacktestIn(In):
    """A backtest of a built-in strategy over stored candles."""

    strategy: str = Field(default="boll", max_length=40)
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=30)
    market: Literal["usdm", "spot"] = "usdm"
    symbol: str = Field(pattern=SYMBOL_PATTERN)
    interval: str = Field(default="15m", pattern=INTERVAL_PATTERN)
    start_ms: int = Field(ge=0, le=MAX_MS)
    end_ms: int = Field(ge=0, le=MAX_MS)
    mode: Literal["intrabar", "bar_close"] = "intrabar"
    capital: Decimal | None = Field(default=None, gt=0, le=Decimal("1e12"), allow_inf_nan=False)

    @field_validator("strategy")
    @classmethod
    def _builtin(cls, value: str) -> str:
        known = builtin_strategies()
        if value not in known:
            raise ValueError(f"unknown strategy {value!r}; built-in: {', '.join(known)}")
        return value

    @field_validator("params")
    @classmethod
    def _short_strings(cls, value: dict[str, ParamValue]) -> dict[str, ParamValue]:
        for key, item in value.items():
            if len(key) > 40 or (isinstance(item, str) and len(item) > 100):
                raise ValueError("parameter names and values must be short")
        return value


@router.post("/backtests", response_model=BacktestRunOut, status_code=status.HTTP_201_CREATED)
async def start_backtest(request: Request, container: ContainerDep, body: BacktestIn
                         ) -> BacktestRunOut:
    """Run a backtest on stored candles (one at a time, in a worker process); store and return
    the run. 409 while another one runs, 422 for a bad request or missing data."""
    if body.end_ms <= body.start_ms:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "end_ms must be after start_ms")
    if body.end_ms - body.start_ms > MAX_BACKTEST_DAYS * 86_400_000:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"at most {MAX_BACKTEST_DAYS} days per backtest from the dashboard")
    runner: BacktestRunner = request.app.state.backtests
    job = BacktestJob(
        # The URL of the engine this API reads (with its password: the worker must connect).
        database_url=container.engine.url.render_as_string(hide_password=False),
        strategy=body.strategy, params=dict(body.params), market=body.market,
        symbol=body.symbol, interval=body.interval, start_ms=body.start_ms, end_ms=body.end_ms,
        mode=body.mode, capital=None if body.capital is None else str(body.capital))
    try:
        run_id = await runner.run(job)
    except BacktestBusy as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    except ValueError as e:  # bad parameters, no candles in range (DataError), ...
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    run = await to_thread(bq.get_run, container.engine, run_id)
    if run is None:  # pragma: no cover - the worker stored it before returning the id
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, "backtest was not stored")
    return BacktestRunOut.model_validate(run.model_dump(exclude={"equity"}))


@router.get("/strategies", response_model=list[str])
async def strategies() -> list[str]:
    """The built-in strategies a backtest may name."""
    return builtin_strategies()
