"""The bots API: create, start, remove, start/stop all, statistics, portfolio summary, health.

``POST /bots/{id}/stop``, ``pause``, ``resume`` and ``close-position`` live in ``controls``;
``GET /bots`` and ``GET /bots/{id}`` in ``trading``. Mutations are audit-logged, honour
``Idempotency-Key`` and answer 409 without a live runtime (``binbot serve``). A bot that cannot
be created gets a 4xx saying why, and nothing is created: 422 for a bad definition (unknown
strategy or symbol, bad parameters or risk settings, a mode that cannot run yet), 409 for a
duplicate id.
"""

from __future__ import annotations

import logging
from asyncio import to_thread
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request, status

from binbot.api import summary
from binbot.api.container import ApiContainer
from binbot.api.deps import CallerDep, ContainerDep
from binbot.api.idempotency import IdempotencyCache
from binbot.api.queries import bot_stats
from binbot.api.queries.trading import dec, fmt
from binbot.api.routers.controls import IdempotencyKey
from binbot.api.routers.params import BotIdPath
from binbot.api.schemas.bots import (
    RESERVED_IDS,
    BotCreateIn,
    BotHealthOut,
    BotsHealthOut,
    BotStatsOut,
    PortfolioSummaryOut,
    PositionSummary,
    RemovedOut,
    RiskEventOut,
)
from binbot.api.schemas.trading import BotOut
from binbot.services.runtime import (
    BotDefinitionError,
    ControlRefused,
    DuplicateBot,
    Runtime,
    UnknownBot,
)

log = logging.getLogger("binbot.audit")
router = APIRouter(prefix="/api/v1/bots", tags=["bots"])

T = TypeVar("T")
ForceQuery = Annotated[bool, Query(description="remove even with an open position")]


def _runtime(container: ApiContainer) -> Runtime:
    if container.runtime is None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            "read-only server: no bots run in this process (binbot serve)")
    return container.runtime


async def _mutate(request: Request, caller: CallerDep, scope: str, key: str | None,
                  call: Callable[[], Awaitable[T]]) -> T:
    """Run ``call`` once per idempotency key, mapping the runtime's refusals to 4xx."""
    cache: IdempotencyCache = request.app.state.idempotency

    async def guarded() -> T:
        log.info("bots %s by %s", scope, caller.actor)
        try:
            return await call()
        except UnknownBot as e:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no bot {e.args[0]!r}") from None
        except DuplicateBot as e:
            raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
        except BotDefinitionError as e:
            log.info("bots %s refused: %s", scope, e)
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
        except ControlRefused as e:
            log.info("bots %s refused: %s", scope, e)
            raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None

    return await cache.run(scope, key, guarded)


# -- reads ---------------------------------------------------------------------------------


@router.get("/", response_model=list[BotOut])
async def list_bots(container: ContainerDep) -> list[BotOut]:
    """Every bot: live figures for those this process runs, stored ones for the others."""
    return await container.reads.thread(summary.current_bots, container)


@router.get("/health", response_model=BotsHealthOut)
async def bots_health(container: ContainerDep) -> BotsHealthOut:
    runtime = container.runtime
    if runtime is not None:
        items = [BotHealthOut(bot_id=h.bot_id, status=h.status, active=h.active, stale=h.stale,
                              last_event_ms=h.last_event_ms, dropped_events=h.dropped_events,
                              last_error=h.last_error)
                 for h in runtime.bot_health()]
    else:
        statuses = await to_thread(bot_stats.stored_statuses, container.engine)
        times = await to_thread(bot_stats.last_event_times, container.engine)
        items = [BotHealthOut(bot_id=bot_id, status=value, active=False, stale=False,
                              last_event_ms=times.get(bot_id), dropped_events=0,
                              last_error=None)
                 for bot_id, value in sorted(statuses.items())]
    healthy = not any(h.active and (h.stale or h.last_error) for h in items)
    return BotsHealthOut(live=runtime is not None, healthy=healthy, bots=items)


def _portfolio(container: ApiContainer) -> PortfolioSummaryOut:
    bots = summary.current_bots(container)
    counts = bot_stats.trade_counts(container.engine)
    capital = equity = unrealized = Decimal(0)
    closed = winning = 0
    for bot in bots:
        capital += dec(bot.capital)
        equity += dec(bot.equity) if bot.equity is not None else dec(bot.capital)
        unrealized += dec(bot.unrealized_pnl or "0")
        stored = counts.get(bot.bot_id, bot_stats.TradeCounts())
        closed += bot.trades if bot.live else stored.closed
        winning += bot.winning_trades if bot.live else stored.winning
    combined = equity - capital
    return PortfolioSummaryOut(
        bots_total=len(bots), bots_running=sum(1 for b in bots if b.status == "running"),
        total_capital=fmt(capital), total_equity=fmt(equity), combined_pnl=fmt(combined),
        realized_pnl=fmt(combined - unrealized), unrealized_pnl=fmt(unrealized),
        total_trades=closed, winning_trades=winning,
        win_rate=winning / closed if closed else None)


@router.get("/portfolio/summary", response_model=PortfolioSummaryOut)
async def portfolio_summary(container: ContainerDep) -> PortfolioSummaryOut:
    """Totals over every bot: capital, equity, combined PnL, closed trades and win rate."""
    return await container.reads.thread(_portfolio, container)


def _position(quantity: str | None, entry: str | None) -> PositionSummary:
    q = dec(quantity or "0")
    side = "flat" if q == 0 else "long" if q > 0 else "short"
    return PositionSummary(side=side, quantity=fmt(q), entry_price=fmt(dec(entry or "0")))


def _stats(container: ApiContainer, bot_id: str, events: list[RiskEventOut]) -> BotStatsOut:
    bot = next((b for b in summary.current_bots(container) if b.bot_id == bot_id), None)
    if bot is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no bot {bot_id!r}")
    engine = container.engine
    capital = dec(bot.capital)
    live_equity = dec(bot.equity) if bot.live and bot.equity is not None else None
    returns = bot_stats.period_returns(engine, bot_id, capital, live_equity)
    equity = live_equity if live_equity is not None else returns.equity
    stored = bot_stats.trade_counts(engine, bot_id).get(bot_id, bot_stats.TradeCounts())
    closed = bot.trades if bot.live else stored.closed
    winning = bot.winning_trades if bot.live else stored.winning
    if bot.live:
        realized = bot.realized_pnl
        position = _position(bot.position_qty, bot.entry_price)
    else:
        realized = fmt(stored.realized_pnl)
        position = _stored_position(container, bot_id)
    return BotStatsOut(
        bot_id=bot.bot_id, status=bot.status, live=bot.live, symbol=bot.symbol,
        strategy=bot.strategy, mode=bot.mode, capital=bot.capital,
        equity=fmt(equity) if equity is not None else None, realized_pnl=realized,
        unrealized_pnl=bot.unrealized_pnl,
        total_pnl=fmt(equity - capital) if equity is not None else None, fees=bot.fees,
        trades=closed, winning_trades=winning, win_rate=winning / closed if closed else None,
        position=position, last_price=bot.last_price, daily_return=returns.daily,
        monthly_return=returns.monthly, as_of_ms=returns.as_of_ms, risk_events=events)


def _stored_position(container: ApiContainer, bot_id: str) -> PositionSummary:
    from binbot.api.queries.trading import open_positions

    for p in open_positions(container.engine, bot_id):
        return _position(p.quantity, p.entry_price)  # the stored quantity is signed
    return _position("0", "0")


@router.get("/{bot_id}/stats", response_model=BotStatsOut)
async def bot_statistics(container: ContainerDep, bot_id: BotIdPath) -> BotStatsOut:
    """PnL (realised, unrealised), closed trades and win rate, position, daily and monthly
    return, and the latest risk rejections."""
    events: list[RiskEventOut] = []
    if container.runtime is not None:
        # Read on the event loop, which is where the runner appends to them.
        try:
            events = [RiskEventOut.model_validate(e)
                      for e in container.runtime.risk_events(bot_id)]
        except UnknownBot:
            events = []
    return await to_thread(_stats, container, bot_id, events)


# -- mutations -----------------------------------------------------------------------------


@router.post("/create", response_model=BotOut, status_code=status.HTTP_201_CREATED)
async def create_bot(request: Request, container: ContainerDep, caller: CallerDep,
                     body: BotCreateIn, idempotency_key: IdempotencyKey = None) -> BotOut:
    """Create a bot (and start it with ``auto_start``). Only paper mode can run for now."""
    runtime = _runtime(container)
    if body.bot_id.lower() in RESERVED_IDS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"bot_id {body.bot_id!r} is reserved by the API; choose another")

    async def call() -> BotOut:
        from binbot.services.bots import settings_from_request

        bot = settings_from_request({
            "id": body.bot_id, "market": body.market, "symbol": body.symbol,
            "interval": body.interval, "strategy": body.strategy_name,
            "params": body.strategy_params, "capital": body.capital,
            "leverage": body.leverage, "mode": body.mode, "risk": body.risk,
            "auto_start": body.auto_start,
        })
        view = await runtime.create_bot(bot, risk_per_trade=body.risk_per_trade)
        return summary.bot_from_view(view)

    return await _mutate(request, caller, f"create:{body.bot_id}", idempotency_key, call)


@router.post("/start-all", response_model=list[BotOut])
async def start_all(request: Request, container: ContainerDep, caller: CallerDep,
                    idempotency_key: IdempotencyKey = None) -> list[BotOut]:
    """Start every bot that is not running (bots halted by their kill switch stay halted)."""
    runtime = _runtime(container)

    async def call() -> list[BotOut]:
        return [summary.bot_from_view(v) for v in await runtime.start_all()]

    return await _mutate(request, caller, "start-all", idempotency_key, call)


@router.post("/stop-all", response_model=list[BotOut])
async def stop_all(request: Request, container: ContainerDep, caller: CallerDep,
                   idempotency_key: IdempotencyKey = None) -> list[BotOut]:
    runtime = _runtime(container)

    async def call() -> list[BotOut]:
        return [summary.bot_from_view(v) for v in await runtime.stop_all()]

    return await _mutate(request, caller, "stop-all", idempotency_key, call)


@router.post("/{bot_id}/start", response_model=BotOut)
async def start_bot(request: Request, container: ContainerDep, caller: CallerDep,
                    bot_id: BotIdPath, idempotency_key: IdempotencyKey = None) -> BotOut:
    """Run a stopped, created or paused bot (a halted one needs ``resume``)."""
    runtime = _runtime(container)

    async def call() -> BotOut:
        return summary.bot_from_view(await runtime.start(bot_id))

    return await _mutate(request, caller, f"start:{bot_id}", idempotency_key, call)


@router.delete("/{bot_id}", response_model=RemovedOut)
async def remove_bot(request: Request, container: ContainerDep, caller: CallerDep,
                     bot_id: BotIdPath, force: ForceQuery = False,
                     idempotency_key: IdempotencyKey = None) -> RemovedOut:
    """Stop the bot and delete it with its records. Refused for a bot of the config file, and
    for one holding a position unless ``force=true``."""
    runtime = _runtime(container)

    async def call() -> RemovedOut:
        await runtime.remove(bot_id, force=force)
        return RemovedOut(bot_id=bot_id)

    return await _mutate(request, caller, f"remove:{bot_id}", idempotency_key, call)
