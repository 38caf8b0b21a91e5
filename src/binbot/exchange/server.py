"""``LocalExchange``: the local Binance-compatible exchange, REST and WebSocket on one port.

    ex = LocalExchange(ExchangeOptions(data_files=[Path("FILUSDT-1m-2025-04.csv.gz")],
                                       speed=1000.0))
    await ex.start()   # ex.port is the bound port
    ...
    await ex.stop()

URL layout (one loopback port stands in for every Binance host):
USD-M REST ``/fapi/...``, spot REST ``/api/...`` and ``/sapi/...``; USD-M streams
``/public/ws/<streams>``, ``/public/stream?streams=``, ``/market/ws/...``, ``/market/stream?...``;
USD-M user data ``/private/ws?listenKey=<key>`` (or ``/private/ws/<key>``); spot streams
``/ws/<streams>``, ``/stream?streams=``; spot WebSocket API ``/ws-api/v3``; USD-M WebSocket API
(orders) ``/ws-fapi/v1``; control ``/__sim/``.

Accounts (see ``accounts``): ``ExchangeOptions(accounts=[AccountSpec("key", hmac_secret="s")])``
enables the signed endpoints (``usdm_rest``, ``spot_rest``), matching against the replay
(``orders``), user data streams (``user_streams``, ``ws_api``), orders over the USD-M
WebSocket API (``ws_fapi``) and the order ``ledger``.
Signed ``timestamp``s are checked against the wall clock (``wall_clock``) plus
``clock_skew_ms`` (``signing_clock="virtual"`` checks them against the replay clock instead,
for clients that sync to ``/time``). A listenKey lives
``listen_key_validity_s`` wall seconds after its last keep-alive.

Python handles for tests: ``ex.ledger`` (every order received, executed or not),
``ex.faults`` (including the order and user-stream faults), ``ex.usdm_book(key)`` /
``ex.spot_book(key)`` (balances, positions, orders, fills), ``ex.user_events(key)``,
``ex.set_rules(symbol, tick_size=..., step_size=..., min_notional=...)``,
``ex.deposit(key, asset, amount)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from binbot.domain.market import Market
from binbot.exchange import wire
from binbot.exchange.account_rest import Books, SignedContext
from binbot.exchange.accounts import AccountSpec, check_unique
from binbot.exchange.admin import admin_routes
from binbot.exchange.clock import VirtualClock, WallClock
from binbot.exchange.decimals import from_scaled
from binbot.exchange.faults import FaultController
from binbot.exchange.http_policy import RequestPolicy
from binbot.exchange.hub import HubOptions, WsHub
from binbot.exchange.klinedata import SymbolData, load_kline_files
from binbot.exchange.ledger import Ledger
from binbot.exchange.market import MarketEngine
from binbot.exchange.orders.matching import Matcher
from binbot.exchange.orders.model import Ids
from binbot.exchange.orders.spot import SpotBook
from binbot.exchange.orders.usdm import FuturesBook
from binbot.exchange.orders.view import MarketView
from binbot.exchange.ratelimit import WeightLimiter
from binbot.exchange.rest import BinanceError, MarketRest
from binbot.exchange.rules import SymbolRules
from binbot.exchange.signed_rest import SignedGate
from binbot.exchange.spot_rest import SpotRest
from binbot.exchange.streams import Category
from binbot.exchange.usdm_rest import UsdmRest
from binbot.exchange.user_streams import LISTEN_KEY_VALIDITY_S, ListenKeys, UserStreams
from binbot.exchange.ws_api import WsApi
from binbot.exchange.ws_fapi import UsdmWsApi

log = logging.getLogger(__name__)

_STEP_BUDGET: Final = 5000  # engine steps per batch before yielding to the event loop
_MIN_SLEEP_S: Final = 0.002  # batch events at least this long (fewer, larger writes)
_MAX_SLEEP_S: Final = 0.05  # re-read the clock at least this often
_BACKLOG_SOFT_BYTES: Final = 4 * 1024 * 1024
_BACKLOG_WAIT_S: Final = 1.0
_HOUSEKEEPING_S: Final = 0.1


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ExchangeOptions:
    data_files: Sequence[Path]
    speed: float = 1.0
    host: str = "127.0.0.1"
    port: int = 0
    start_ms: int | None = None  # default: the first candle's open time
    anchor_wall_ms: int | None = None  # default: when start() runs
    symbols: Mapping[str, str] | None = None  # file path or name -> symbol, when not in the name
    allow_public: bool = False  # bind a non-loopback host
    weight_limit_usdm: int = 6000
    weight_limit_spot: int = 6000
    ws: HubOptions = field(default_factory=HubOptions)
    wall_clock: WallClock = time.time  # tests inject a manual clock
    accounts: Sequence[AccountSpec] = ()
    clock_skew_ms: int = 0  # the signed-request clock is wall clock + this
    # "wall": signed timestamps are checked against the wall clock (+ skew), Binance's rule
    # for a client's clock. "virtual": against the replay clock (+ skew), for a client that
    # syncs its signing clock to /time (which serves virtual time); consistent at speed 1.
    signing_clock: str = "wall"
    listen_key_validity_s: float = LISTEN_KEY_VALIDITY_S


class LocalExchange:
    def __init__(self, options: ExchangeOptions) -> None:
        if not is_loopback(options.host) and not options.allow_public:
            raise ValueError(f"refusing to bind non-loopback host {options.host!r} "
                             "(set allow_public to expose the local exchange)")
        check_unique(list(options.accounts))
        if options.signing_clock not in ("wall", "virtual"):
            raise ValueError(f"signing_clock must be wall or virtual, was "
                             f"{options.signing_clock!r}")
        self.options = options
        self.faults = FaultController(options.wall_clock)
        self.faults.base_skew_ms = options.clock_skew_ms
        self.ledger = Ledger()
        self.port = options.port
        self._rules: dict[str, SymbolRules] = {}
        self._matcher: Matcher | None = None
        self._streams: UserStreams | None = None
        self._usdm: dict[str, FuturesBook] = {}
        self._spot: dict[str, SpotBook] = {}
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._engine: MarketEngine | None = None
        self._clock: VirtualClock | None = None
        self._hub: WsHub | None = None
        self._policy: RequestPolicy | None = None
        self._data: dict[str, SymbolData] = {}

    # -- parts, available after start() -------------------------------------------------------

    @property
    def engine(self) -> MarketEngine:
        if self._engine is None:
            raise RuntimeError("start() the exchange first")
        return self._engine

    @property
    def clock(self) -> VirtualClock:
        if self._clock is None:
            raise RuntimeError("start() the exchange first")
        return self._clock

    @property
    def hub(self) -> WsHub:
        if self._hub is None:
            raise RuntimeError("start() the exchange first")
        return self._hub

    @property
    def symbols(self) -> list[str]:
        return sorted(self._data)

    @property
    def user_streams(self) -> UserStreams:
        if self._streams is None:
            raise RuntimeError("start() the exchange first")
        return self._streams

    def usdm_book(self, api_key: str) -> FuturesBook:
        return self._usdm[api_key]

    def spot_book(self, api_key: str) -> SpotBook:
        return self._spot[api_key]

    def user_events(self, api_key: str, venue: Market | None = None) -> list[dict[str, Any]]:
        """Every user-data event emitted for ``api_key`` (whether delivered or not)."""
        return self.user_streams.events_for(api_key, venue)

    def set_rules(self, symbol: str, tick_size: str | None = None, step_size: str | None = None,
                  min_notional: str | None = None) -> SymbolRules:
        """Change a symbol's filters from now on (exchangeInfo and order checks)."""
        current = self.rules_of(symbol)
        changed = current.with_overrides(
            Decimal(tick_size) if tick_size is not None else None,
            Decimal(step_size) if step_size is not None else None,
            Decimal(min_notional) if min_notional is not None else None)
        self._rules[symbol] = changed
        return changed

    def rules_of(self, symbol: str) -> SymbolRules:
        rules = self._rules.get(symbol)
        if rules is None:
            raise BinanceError(-1121, "Invalid symbol.")
        return rules

    def price_of(self, symbol: str) -> Decimal:
        market = self.engine.markets.get(symbol)
        if market is None:
            raise BinanceError(-1121, "Invalid symbol.")
        return from_scaled(wire.last_price(market), market.data.price_dec)

    def event_now_ms(self) -> int:
        """Virtual time of what is happening: the replayed trade being matched, else now."""
        matcher = self._matcher
        if matcher is not None and matcher.current_ms is not None:
            return matcher.current_ms
        return self.engine.now_ms

    def signing_now_ms(self) -> int:
        if self.options.signing_clock == "virtual":
            return self.clock.now_ms() + self.faults.clock_skew_ms
        return int(self.options.wall_clock() * 1000) + self.faults.clock_skew_ms

    def set_clock_skew(self, ms: int) -> None:
        """Move the signed-request clock to wall + ``clock_skew_ms`` + ``ms``."""
        self.faults.set_clock_skew(ms)

    def deposit(self, api_key: str, asset: str, amount: str) -> None:
        """Credit a spot balance (``balanceUpdate`` + ``outboundAccountPosition``)."""
        self._spot[api_key].deposit(asset, Decimal(amount))

    @property
    def base_url(self) -> str:
        return f"http://{self.options.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.options.host}:{self.port}"

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        opts = self.options
        self._data = await asyncio.to_thread(load_kline_files, list(opts.data_files),
                                             opts.symbols)
        start_ms = opts.start_ms
        if start_ms is None:
            start_ms = min(d.first_open_time for d in self._data.values())
        anchor = opts.anchor_wall_ms
        if anchor is None:
            anchor = int(opts.wall_clock() * 1000)
        self._clock = VirtualClock(start_ms, anchor, opts.speed, opts.wall_clock)
        self._engine = MarketEngine(self._data, self._clock.now_ms())
        self._hub = WsHub(self._engine, self._clock, self.faults, opts.ws)
        self._matcher = Matcher(self._hub)
        self._engine.listener = self._matcher
        self._rules = {s: SymbolRules.from_data(d) for s, d in self._data.items()}
        limits = {Market.USDM: opts.weight_limit_usdm, Market.SPOT: opts.weight_limit_spot}
        rest = MarketRest(self._engine, self.sync, limits, self._rules)
        endpoints = rest.endpoints()
        gate = SignedGate({a.api_key: a for a in opts.accounts}, self.signing_now_ms)
        keys = ListenKeys(opts.wall_clock, opts.listen_key_validity_s)
        self._streams = UserStreams(self.faults, opts.wall_clock, keys, self.event_now_ms,
                                    opts.ws.ping_interval_s, opts.ws.pong_timeout_s)
        view = MarketView(self.rules_of, self.price_of, self.event_now_ms, Ids(), self._streams)
        self._usdm = {a.api_key: FuturesBook(a, view) for a in opts.accounts}
        self._spot = {a.api_key: SpotBook(a, view) for a in opts.accounts}
        self._matcher.attach(self._usdm.values(), self._spot.values())
        books = Books({a.api_key: a for a in opts.accounts}, self._usdm, self._spot,
                      self.symbols)
        ctx = SignedContext(books, gate, self.ledger, self.sync, self.event_now_ms,
                            opts.wall_clock)
        endpoints += UsdmRest(ctx, keys).endpoints() + SpotRest(ctx).endpoints()
        ws_api = WsApi(gate, self._streams, opts.wall_clock, self.event_now_ms)
        # One weight budget per IP, shared by REST and the USD-M WebSocket API (as Binance).
        limiter = WeightLimiter(limits, opts.wall_clock)
        ws_fapi = UsdmWsApi(ctx, self._streams, limiter, self.faults, opts.wall_clock)
        self._policy = RequestPolicy(endpoints, limiter, self.faults, opts.wall_clock,
                                     ctx.record_refused)
        app = web.Application(middlewares=[self._policy.middleware])
        app.add_routes([web.route(e.method, e.path, e.handler) for e in endpoints])
        app.add_routes(self._ws_routes())
        app.add_routes([
            web.get("/private/ws", self._streams.serve_private),
            web.get("/private/ws/{listen_key}", self._streams.serve_private),
            web.get("/ws-api/v3", ws_api.serve),
            web.get("/ws-fapi/v1", ws_fapi.serve),
        ])
        app.add_routes(admin_routes(self.faults, self.state, self.ledger, self._admin_rules))
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, opts.host, opts.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])  # the real port when port=0
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._replay(), name="exchange-replay"),
                       loop.create_task(self._housekeeping(), name="exchange-housekeeping")]
        log.info("local exchange listening on %s (speed %sx, virtual start %d, anchor %d; "
                 "symbols %s)", self.base_url, opts.speed, start_ms, anchor,
                 ", ".join(self.symbols))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._hub is not None:
            await self._hub.stop()
        if self._streams is not None:
            await self._streams.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalExchange:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- market --------------------------------------------------------------------------------

    def sync(self) -> None:
        """Catch the replay up to the virtual clock now (REST calls this before answering)."""
        self.hub.catch_up()

    async def _replay(self) -> None:
        engine, clock, hub = self.engine, self.clock, self.hub
        while True:
            hub.begin_batch()
            caught_up = engine.advance(clock.now_ms(), budget=_STEP_BUDGET)
            hub.flush()
            await self._respect_backlog()
            if not caught_up:
                await asyncio.sleep(0)
                continue
            nxt = engine.next_event_ms()
            delay = _MAX_SLEEP_S if nxt is None else clock.wall_seconds_until(nxt)
            await asyncio.sleep(min(_MAX_SLEEP_S, max(_MIN_SLEEP_S, delay)))

    async def _respect_backlog(self) -> None:
        """Let slow readers catch up a little before producing more (they are dropped when
        they fall too far behind)."""
        hub = self.hub
        waited = 0.0
        while hub.most_backlogged() > _BACKLOG_SOFT_BYTES and waited < _BACKLOG_WAIT_S:
            await asyncio.sleep(_MIN_SLEEP_S)
            waited += _MIN_SLEEP_S

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(_HOUSEKEEPING_S)
            self.hub.housekeeping()
            self.user_streams.housekeeping()

    def _admin_rules(self, symbol: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        def text(name: str) -> str | None:
            value = spec.get(name)
            return None if value is None else str(value)

        rules = self.set_rules(symbol, text("tick_size"), text("step_size"),
                               text("min_notional"))
        return {"symbol": symbol, "tick_size": str(rules.tick), "step_size": str(rules.step),
                "min_notional": str(rules.min_notional)}

    # -- WebSocket routes ----------------------------------------------------------------------

    def _ws_routes(self) -> list[web.RouteDef]:
        def raw(venue: Market, category: Category | None) -> Any:
            async def handler(request: web.Request) -> web.StreamResponse:
                tail = request.match_info.get("streams", "")
                names = [n for n in tail.split("/") if n]
                return await self.hub.serve(request, venue, category, False, names)
            return handler

        def combined(venue: Market, category: Category | None) -> Any:
            async def handler(request: web.Request) -> web.StreamResponse:
                names = [n for n in request.query.get("streams", "").split("/") if n]
                return await self.hub.serve(request, venue, category, True, names)
            return handler

        routes = []
        for prefix, venue, category in (("", Market.SPOT, None),
                                        ("/public", Market.USDM, Category.PUBLIC),
                                        ("/market", Market.USDM, Category.MARKET)):
            routes += [
                web.get(f"{prefix}/ws", raw(venue, category)),
                web.get(f"{prefix}/ws/{{streams:.+}}", raw(venue, category)),
                web.get(f"{prefix}/stream", combined(venue, category)),
            ]
        return routes

    # -- state ---------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        engine, clock, hub = self.engine, self.clock, self.hub
        symbols = {}
        for symbol, market in engine.markets.items():
            data = market.data
            symbols[symbol] = {
                "first_open_time": data.first_open_time,
                "last_open_time": data.last_open_time,
                "candles": len(data),
                "position": market.i,
                "trades_in_candle": market.k,
                "last_price": (data.fmt_price(market.last_trade.price)
                               if market.last_trade is not None else None),
                "ended": market.next_trade() is None,
            }
        return {
            "virtual_time": engine.now_ms,
            "signing_time": self.signing_now_ms(),
            "clock_time": clock.now_ms(),
            "speed": clock.speed,
            "start_ms": clock.start_ms,
            "anchor_wall_ms": clock.anchor_wall_ms,
            "market_ended": all(s["ended"] for s in symbols.values()),
            "symbols": symbols,
            "requests": dict(self._policy.requests) if self._policy is not None else {},
            "ws": {"connections": hub.connection_count, "opened": hub.connections_opened,
                   "messages_sent": hub.messages_sent},
            "faults": self.faults.describe(),
            "accounts": sorted(self._usdm),
            "ledger": {"received": len(self.ledger),
                       "executed": len(self.ledger.executed())},
            "user_streams": {"connections": len(self.user_streams.connections),
                             "events": len(self.user_streams.events),
                             "dropped": self.user_streams.dropped},
        }
