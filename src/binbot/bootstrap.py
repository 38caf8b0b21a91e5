"""The composition root: the only place that knows every concrete adapter.

``run_service`` builds the live service from the settings (exchange client, market data hub,
candle store and writer, bots with paper execution, event bus, API) and runs it until ``stop``
is set; it then shuts everything down in reverse order, committing what the writer holds.
The bots are those of the config file plus those created over the API (stored in the database);
``ServiceRuntime.boot`` brings each back as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

import aiohttp
from sqlalchemy import Engine

from binbot.adapters.binance.endpoints import endpoints_for
from binbot.adapters.binance.rest import BinanceRestClient
from binbot.adapters.binance.streams import BinanceMarketStream
from binbot.config.settings import Settings
from binbot.core.event_bus import EventBus
from binbot.marketdata.hub import HubHistory, MarketDataHub
from binbot.services.bot_runner import RunnerDeps
from binbot.services.bots import check_mode
from binbot.services.instrument_book import InstrumentBook
from binbot.services.runtime import BotDefinitionError
from binbot.services.service_runtime import ServiceRuntime
from binbot.storage.candles import SqlCandleStore
from binbot.storage.database import make_engine
from binbot.storage.migrate import upgrade
from binbot.storage.writer import Writer

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """The service cannot start with this configuration (explained in the message)."""


@dataclass
class ServiceHandle:
    """What a running service exposes to its caller (tests and benchmarks look inside)."""

    settings: Settings
    bus: EventBus
    runtime: ServiceRuntime
    ready: asyncio.Event = field(default_factory=asyncio.Event)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _check_modes(settings: Settings) -> None:
    for bot in settings.bots:
        try:
            check_mode(bot, settings.exchange)
        except BotDefinitionError as e:
            raise StartupError(str(e)) from None


async def run_service(settings: Settings, stop: asyncio.Event,
                      handle_ready: asyncio.Future[ServiceHandle] | None = None) -> None:
    """Run ``binbot run`` until ``stop`` is set."""
    _check_modes(settings)
    engine = make_engine(settings.database_url)
    await asyncio.to_thread(upgrade, engine)
    writer = Writer.from_settings(engine, settings.database)
    writer.start()
    venue = settings.exchange.venue
    endpoints = endpoints_for(venue, settings.exchange.local_host, settings.exchange.local_port)
    session = aiohttp.ClientSession()
    rest = BinanceRestClient(endpoints, session=session,
                             timeout_s=settings.exchange.request_timeout_s)
    stream = BinanceMarketStream.from_settings(session, endpoints, settings.market_data)
    store = SqlCandleStore(engine, writer)
    hub = MarketDataHub(stream, rest, store,
                        HubHistory(settings.history.candles, settings.history.days))
    bus = EventBus()
    deps = RunnerDeps(writer, engine, store, hub, rest, bus, settings.paper, venue, _now_ms,
                      http=session, exchange=settings.exchange)
    runtime = ServiceRuntime(hub, venue, deps, InstrumentBook(rest.instruments))
    api: _ApiServer | None = None
    try:
        await hub.start()
        try:
            await runtime.boot(settings.bots)
        except BotDefinitionError as e:
            raise StartupError(str(e)) from None
        if settings.api.enabled:
            api = _ApiServer(settings, engine, bus, runtime)
            await api.start()
        if handle_ready is not None:
            handle_ready.set_result(ServiceHandle(settings, bus, runtime))
        await stop.wait()
        log.info("stopping")
    finally:
        if api is not None:
            await api.stop()
        await runtime.shutdown()
        await hub.stop()
        await writer.close()
        await session.close()
        engine.dispose()


class _ApiServer:
    """uvicorn in this event loop; stopped the way uvicorn expects (``should_exit``)."""

    def __init__(self, settings: Settings, engine: Engine, bus: EventBus,
                 runtime: ServiceRuntime) -> None:
        import uvicorn

        from binbot.api import build_container, create_app

        # The feed announces new rows and a once-a-second tick from the database, the same
        # way for `binbot run` and `binbot serve`.
        container = build_container(settings, engine, bus, runtime, db_feed=True)
        config = uvicorn.Config(create_app(container), host=settings.api.host,
                                port=settings.api.port, loop="asyncio", log_config=None,
                                access_log=False, server_header=False, proxy_headers=False)
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None
        self._where = f"http://{settings.api.host}:{settings.api.port}/"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(), name="api-server")
        # uvicorn exposes only a `started` flag, no event to await.
        while not self._server.started and not self._task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        if self._task.done():
            self._task.result()  # raises why it could not start (e.g. the port is taken)
            raise StartupError(f"the API server stopped at once on {self._where}")
        log.info("dashboard on %s", self._where)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(self._task, timeout=5)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
