"""A live session against the local exchange, with a SQLite journal, and the checks of
"nothing lost": orders received per client id (the exchange's ledger), positions on both sides,
every fill recorded once."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select

from binbot.adapters.binance.endpoints import local
from binbot.adapters.binance.execution import ExecutionOptions
from binbot.adapters.binance.rest import BinanceRestClient
from binbot.adapters.binance.user_stream import UserStreamOptions
from binbot.config.credentials import BinanceCredentials
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market
from binbot.engine.bot import BotCore
from binbot.engine.risk import RiskLimits
from binbot.exchange.accounts import AccountSpec
from binbot.exchange.server import ExchangeOptions, LocalExchange
from binbot.services.live.reconcile import ReconcileOptions, ReconcileReport
from binbot.services.live.session import LiveConfig, LiveSession
from binbot.storage import trading_tables as t
from binbot.storage.database import make_engine, sqlite_url
from binbot.storage.migrate import upgrade
from binbot.storage.writer import Writer, upsert_rows
from binbot.strategy.base import Strategy

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA = (REPO_ROOT.parent / "shared" / "data" / "klines" / "binance-um-1m"
        / "FILUSDT-1m-2025-04.csv.gz")
KEY, SECRET = "live-key", "live-secret"
SYMBOL = "FILUSDT"
BOT = "live1"


class Idle(Strategy):
    """Decides nothing: the tests drive orders through the bot's commands."""

    name = "idle"


async def until(predicate: Callable[[], bool], limit_s: float = 10.0) -> None:
    """Poll state that the exchange and the client update independently."""
    async with asyncio.timeout(limit_s):
        for _ in itertools.count():
            if predicate():
                return
            await asyncio.sleep(0.01)


@dataclass
class Live:
    session: LiveSession
    core: BotCore
    writer: Writer
    engine: Engine
    report: ReconcileReport

    async def settle(self) -> None:
        """Everything queued is sent, resolved and journaled."""
        for _ in range(3):
            await self.session.journal.idle()
            await self.session.client.drain()
            await asyncio.sleep(0.05)
        await self.session.journal.idle()

    async def save_snapshot(self) -> None:
        """What the service's runner does after each change: persist the bot's state."""
        row = {"bot_id": BOT, "snapshot": self.core.snapshot(), "last_event_ms": 0,
               "updated_ms": 0}
        await self.writer.run(lambda c: upsert_rows(c, t.bot_state, [row]))

    async def close(self) -> None:
        await self.session.close()
        await self.writer.close()
        self.engine.dispose()

    async def crash(self) -> None:
        """SIGKILL: tasks stop where they are; nothing more is written or sent."""
        await self.session.abort()
        await self.writer.close()
        self.engine.dispose()


@dataclass
class Rig:
    exchange: LocalExchange
    http: aiohttp.ClientSession
    db_path: Path
    lives: list[Live] = field(default_factory=list)

    async def instrument(self, market: Market = Market.USDM) -> Instrument:
        rest = BinanceRestClient(local("127.0.0.1", self.exchange.port), session=self.http)
        return next(i for i in await rest.instruments(market) if i.symbol == SYMBOL)

    def config(self, instrument: Instrument, **overrides: Any) -> LiveConfig:
        base = LiveConfig(
            bot_id=BOT, mode="testnet", venue="local", instrument=instrument,
            local_port=self.exchange.port, leverage=2,
            execution=ExecutionOptions(resolve_delays_s=(0.05,) * 5,
                                       fill_fetch_delays_s=(0.0, 0.1, 0.3),
                                       retry_after_error_s=0.05),
            stream=UserStreamOptions(backoff_initial_s=0.05, backoff_max_s=0.2),
            reconcile=ReconcileOptions(absent_delays_s=(0.05, 0.05)),
            stream_connect_timeout_s=5.0,
        )
        return replace(base, **overrides)

    async def start(self, *, market: Market = Market.USDM, adopt: bool = False,
                    risk: RiskLimits | None = None, **overrides: Any) -> Live:
        engine = make_engine(sqlite_url(self.db_path))
        await asyncio.to_thread(upgrade, engine)
        writer = Writer(engine)
        writer.start()
        instrument = await self.instrument(market)
        config = self.config(instrument, **overrides)
        config = replace(config, reconcile=replace(config.reconcile, adopt=adopt))
        creds = BinanceCredentials("testnet", SecretStr(KEY), secret=SecretStr(SECRET))
        session = await LiveSession.open(config, http=self.http, writer=writer, engine=engine,
                                         credentials=creds)
        core = BotCore(BOT, instrument, "1m", Idle(), session.execution,
                       capital=Decimal(1000), leverage=2, risk_limits=risk)
        saved = await asyncio.to_thread(read_snapshot, engine)
        core.restore(await session.prepare_snapshot(saved, core))
        core.on_price(self.exchange.event_now_ms(), float(self.exchange.price_of(SYMBOL)))
        report = await session.start(core)
        live = Live(session, core, writer, engine, report)
        self.lives.append(live)
        return live

    # -- "nothing lost" -------------------------------------------------------------------

    def executed(self, cid: str) -> int:
        return len(self.exchange.ledger.executed(cid))

    def assert_no_duplicates(self) -> None:
        counts = self.exchange.ledger.executions_per_client_id()
        assert all(n == 1 for n in counts.values()), counts

    def exchange_position(self) -> Decimal:
        return self.exchange.usdm_book(KEY).position(SYMBOL).amt

    def assert_fills_once(self, engine: Engine, market: Market = Market.USDM) -> None:
        with engine.connect() as c:
            ids = [r[0] for r in c.execute(select(t.fills.c.trade_id).where(
                t.fills.c.bot_id == BOT))]
        assert len(ids) == len(set(ids)), ids
        book = (self.exchange.usdm_book(KEY) if market is Market.USDM
                else self.exchange.spot_book(KEY))
        assert set(ids) == {str(f.trade_id) for f in book.fills}


def read_snapshot(engine: Engine) -> dict[str, Any] | None:
    with engine.connect() as c:
        row = c.execute(select(t.bot_state.c.snapshot).where(
            t.bot_state.c.bot_id == BOT)).first()
    return None if row is None else dict(row[0])


def db_orders(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as c:
        rows = c.execute(select(t.orders).where(t.orders.c.bot_id == BOT)).mappings().all()
    return {r["client_order_id"]: dict(r) for r in rows}


@pytest.fixture
async def exchange() -> AsyncIterator[LocalExchange]:
    options = ExchangeOptions(data_files=[DATA], speed=60.0,
                              accounts=[AccountSpec(api_key=KEY, hmac_secret=SECRET)])
    async with LocalExchange(options) as ex:
        yield ex


@pytest.fixture
async def rig(exchange: LocalExchange, tmp_path: Path) -> AsyncIterator[Rig]:
    async with aiohttp.ClientSession() as http:
        rig = Rig(exchange, http, tmp_path / "live.sqlite")
        try:
            yield rig
        finally:
            for live in rig.lives:
                try:
                    await live.session.abort()
                    await live.writer.close()
                except Exception:  # noqa: S110 - best-effort teardown of crashed sessions
                    pass
