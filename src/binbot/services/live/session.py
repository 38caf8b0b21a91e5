"""``LiveSession``: one bot trading on Binance (mode ``testnet`` or ``live``), assembled safely.

    session = await LiveSession.open(config, http=aiohttp_session, writer=writer, engine=db)
    core = BotCore(..., execution=session.execution, ...)
    core.restore(await session.prepare_snapshot(saved_snapshot, core))  # saved may be None
    report = await session.start(core)      # reconciles, then core.start(), then stops
    ...
    await session.kill("operator")          # cancel, flatten reduce-only, HALTED (persisted)
    await session.close()

``open``: credentials from the environment / ``.env`` / a credentials file (never the main
config; live keys for live mode on the real exchange only), the signed transport (HMAC or
Ed25519) with its clock synced, the key permission check (a key that can withdraw or transfer
is refused where the venue can tell), the symbol's setup (one-way mode, margin type, leverage),
the execution client wrapped in the ``IntentJournal``, and the user-data stream.

``start``: the stream connects first, then the ``Reconciler`` runs before the strategy is
started; a failed or mismatching reconciliation leaves the bot HALTED (cancels still work)
until a later one succeeds. Every ``UserStreamReconnected`` triggers another reconciliation.
``ProtectiveStops`` is checked after start, after every fill and after every reconciliation.

Alarms of the execution client: 418 (IP ban), config faults, an unsafe key and a refused
setup put the bot in HALTED with the reason; 429 only makes requests wait (the transport's
gate); -4120 disables that order type. The HALTED state is the operator state of the bot's
risk gate, so it is part of the bot's snapshot and survives a restart.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import aiohttp
from sqlalchemy import Engine

from binbot.adapters.binance.clock import ClockOffset
from binbot.adapters.binance.endpoints import endpoints_for
from binbot.adapters.binance.execution import (
    BinanceExecutionClient,
    ExecutionOptions,
    SetupRefused,
    ensure_key_cannot_withdraw,
)
from binbot.adapters.binance.keys import api_key_from
from binbot.adapters.binance.rest import BinanceRestClient
from binbot.adapters.binance.signed_rest import (
    ApiKey,
    SignedTransport,
    syncs_clock_from_server,
)
from binbot.adapters.binance.trading_api import BinanceTradingApi
from binbot.adapters.binance.user_decoder import UserItem
from binbot.adapters.binance.user_stream import (
    SpotUserStream,
    UsdmUserStream,
    UserStreamOptions,
)
from binbot.adapters.binance.weights import WeightGate
from binbot.config.credentials import BinanceCredentials, key_kind_for, load_credentials
from binbot.domain.account import AccountEvent, AlarmKind, ExecutionAlarm, UserStreamReconnected
from binbot.domain.errors import ExchangeError
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market
from binbot.domain.orders import (
    CLIENT_ID_PREFIX,
    TERMINAL,
    OrderEvent,
    OrderStatus,
)
from binbot.engine.bot import BotCore, BotStatus
from binbot.engine.client_ids import client_order_ids
from binbot.engine.risk import TradingState
from binbot.services.live.journal import IntentJournal
from binbot.services.live.protect import ProtectiveStops
from binbot.services.live.reconcile import ReconcileOptions, Reconciler, ReconcileReport
from binbot.services.live.records import LocalState, load_local_state, next_intent_seq
from binbot.storage.writer import Writer

log = logging.getLogger(__name__)

RECONCILE_REASON: Final = "reconciliation"
# Venues whose spot host serves /sapi/v1/account/apiRestrictions (testnets have no /sapi).
_PERMISSION_VENUES: Final = frozenset({"binance", "local"})
_HALTING: Final = frozenset({AlarmKind.IP_BANNED, AlarmKind.CONFIG_FAULT, AlarmKind.UNSAFE_KEY,
                             AlarmKind.SETUP})
_FILTER_CODES: Final = ("-1013", "-1111", "-4004", "-4005", "-4013", "-4014", "-4023",
                        "-4131", "-4164", "invalid order")
_SEQ_WINDOW: Final = 5000


class LiveSetupError(RuntimeError):
    """The session cannot start safely (credentials, key rights, account setup, venue)."""


@dataclass(frozen=True, slots=True)
class LiveConfig:
    """One bot's live wiring. ``venue``: binance, testnet, demo or local (``local_host`` and
    ``local_port`` then). ``weight_limit`` is the REST weight per minute this process uses
    (half the venue's by default, reliability G4)."""

    bot_id: str
    mode: str
    venue: str
    instrument: Instrument
    local_host: str = "127.0.0.1"
    local_port: int = 8765
    leverage: int | None = None
    margin_type: str | None = "ISOLATED"
    recv_window_ms: int = 5000
    adopt: bool = False
    default_stop_pct: float = 5.0
    weight_limit: int = 6000
    stream_connect_timeout_s: float = 15.0
    execution: ExecutionOptions = field(default_factory=ExecutionOptions)
    stream: UserStreamOptions = field(default_factory=UserStreamOptions)
    reconcile: ReconcileOptions = field(default_factory=ReconcileOptions)
    filter_refresh_s: float = 60.0
    request_timeout_s: float = 10.0
    sync_clock: bool | None = None  # None: from the venue (not on "local", see signed_rest)


@dataclass(slots=True)
class SessionStatus:
    reconciled: bool = False
    last_report: ReconcileReport | None = None
    alarms: list[ExecutionAlarm] = field(default_factory=list)
    reconciliations: int = 0


class LiveSession:
    def __init__(self, config: LiveConfig, *, client: BinanceExecutionClient,
                 transport: SignedTransport, api_key: ApiKey, http: aiohttp.ClientSession,
                 writer: Writer, engine: Engine, rest: BinanceRestClient,
                 prices: _LastPrice | None = None) -> None:
        self.config = config
        self.client = client
        self.transport = transport
        self.writer = writer
        self.engine = engine
        self._rest = rest
        self._prices = prices or _LastPrice()
        self.status = SessionStatus()
        self.journal = IntentJournal(client, writer, bot_id=config.bot_id, mode=config.mode,
                                     now_ms=transport.clock.now_ms, on_halt=self._halt)
        client.bind_account(self._on_account)
        self.stream: UsdmUserStream | SpotUserStream
        endpoints = endpoints_for(config.venue, config.local_host, config.local_port)
        if config.instrument.market is Market.USDM:
            self.stream = UsdmUserStream(client.api, http, endpoints.ws_usdm_root,
                                         self._on_user, config.stream)
        else:
            self.stream = SpotUserStream(http, endpoints.ws_api_spot, api_key, transport.clock,
                                         self._on_user, config.stream)
        self.core: BotCore | None = None
        self.protect: ProtectiveStops | None = None
        self.reconciler = Reconciler(
            client, bot_id=config.bot_id, symbol=config.instrument.symbol,
            load_state=self._load_state, position=self._position, own_id=self._own_id,
            bot_orders=lambda: self.core.open_orders() if self.core is not None else [],
            track=self.journal.track,
            options=config.reconcile)
        self._reconcile_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._protect_scheduled = False
        self._last_filter_refresh = -1e18

    # ------------------------------------------------------------------ assembly

    @classmethod
    async def open(cls, config: LiveConfig, *, http: aiohttp.ClientSession, writer: Writer,
                   engine: Engine, credentials: BinanceCredentials | None = None,
                   environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env"),
                   credentials_file: Path | None = None) -> LiveSession:
        """Assemble and check everything that must hold before a bot may trade; raises
        ``LiveSetupError`` (or ``CredentialsError``/``ValueError`` for bad settings)."""
        kind = key_kind_for(config.mode, config.venue)
        if credentials is None:
            credentials = load_credentials(kind, environ=environ, env_file=env_file,
                                           credentials_file=credentials_file)
        elif credentials.kind != kind:
            raise LiveSetupError(f"{credentials.kind} keys given for {config.mode} mode")
        api_key = api_key_from(credentials)
        endpoints = endpoints_for(config.venue, config.local_host, config.local_port)
        market = config.instrument.market
        clock = ClockOffset()
        sync = (syncs_clock_from_server(config.venue) if config.sync_clock is None
                else config.sync_clock)

        def transport_for(m: Market) -> SignedTransport:
            return SignedTransport(endpoints.rest(m), m, api_key, session=http,
                                   gate=WeightGate(config.weight_limit), clock=clock,
                                   recv_window_ms=config.recv_window_ms,
                                   timeout_s=config.request_timeout_s,
                                   sync_clock_from_server=sync)

        transport = transport_for(market)
        prices = _LastPrice()
        try:
            for _ in range(3):
                await transport.sync_clock()
            if config.venue in _PERMISSION_VENUES:
                await ensure_key_cannot_withdraw(BinanceTradingApi(transport_for(Market.SPOT)))
            client = BinanceExecutionClient(BinanceTradingApi(transport), [config.instrument],
                                            options=config.execution,
                                            reference_price=prices.price)
            await client.prepare_symbol(config.instrument.symbol, leverage=config.leverage,
                                        margin_type=config.margin_type)
        except SetupRefused as e:
            raise LiveSetupError(str(e)) from e
        except ExchangeError as e:
            raise LiveSetupError(f"the exchange refused the setup: {e}") from e
        rest = BinanceRestClient(endpoints, session=http)
        return cls(config, client=client, transport=transport, api_key=api_key, http=http,
                   writer=writer, engine=engine, rest=rest, prices=prices)

    @property
    def execution(self) -> IntentJournal:
        """The execution client to give the bot."""
        return self.journal

    # ------------------------------------------------------------------ start

    async def prepare_snapshot(self, snapshot: Mapping[str, Any] | None,
                               core: BotCore) -> dict[str, Any]:
        """The snapshot to restore ``core`` from: ``snapshot`` (or the fresh bot's) with the
        intent sequence moved past every journaled id, and the journaled orders the snapshot
        does not know added (a crash between the intent commit and the next state write)."""
        state = await self._load_state()
        data = copy.deepcopy(dict(snapshot)) if snapshot is not None else core.snapshot()
        data["intent_seq"] = next_intent_seq(self.config.bot_id, state.orders,
                                             int(data["intent_seq"]))
        known = {o["intent"]["client_order_id"] for o in data["orders"]}
        for cid, order in state.orders.items():
            if cid not in known and order.status not in TERMINAL and (
                    order.status is not OrderStatus.NOT_SENT):
                blank = copy.copy(order)
                blank.status, blank.filled_qty, blank.trade_ids = (
                    OrderStatus.SUBMITTED, Decimal(0), set())
                data["orders"].append(blank.to_dict())
        return data

    async def start(self, core: BotCore) -> ReconcileReport:
        """Connect the user stream, reconcile, start the bot, check its stops."""
        self.core = core
        self._prices.core = core
        self.protect = ProtectiveStops(core, default_stop_pct=self.config.default_stop_pct)
        self.journal.bind(self._on_order_event)
        self.journal.start()
        self.client.start()
        self.stream.start()
        try:
            async with asyncio.timeout(self.config.stream_connect_timeout_s):
                await self.stream.connected.wait()
        except TimeoutError:
            log.error("bot %s: the user stream did not connect", self.config.bot_id)
        report = await self.reconcile(startup=True)
        if not self.stream.connected.is_set():
            self._halt("user data stream not connected")
        core.start()
        self.protect.check()
        return report

    async def reconcile(self, *, startup: bool = False) -> ReconcileReport:
        async with self._reconcile_lock:
            report = await self.reconciler.run(startup=startup)
            self.status.reconciliations += 1
            self.status.last_report = report
            self.status.reconciled = report.ok
            core = self.core
            if core is not None:
                risk = core.risk
                if not report.ok:
                    risk.set_state(TradingState.HALTED,
                                   f"{RECONCILE_REASON}: {'; '.join(report.problems)}")
                elif risk.state_reason.startswith(RECONCILE_REASON):
                    risk.set_state(TradingState.ACTIVE)
                self.journal.lost_records = False
            if self.protect is not None and core is not None and core.status in (
                    BotStatus.RUNNING, BotStatus.PAUSED):
                self.protect.check()
            return report

    # ------------------------------------------------------------------ kill switch

    async def kill(self, reason: str = "kill switch", *, flatten: bool = True) -> None:
        """Cancel every open order, exit the position reduce-only (``flatten``) and halt;
        the halt is part of the bot's snapshot (persist it) and lasts until
        ``core.resume_trading()``. Works without the API: a CLI command or a signal handler
        can call it."""
        core = self.core
        if core is None:
            raise RuntimeError("the session has not started")
        core.halt_trading(reason, flatten=flatten)
        ours = {o.client_order_id for o in core.open_orders()}
        for order in self.client.open_orders():
            if order.client_order_id not in ours and order.intent.symbol == (
                    self.config.instrument.symbol):
                self.client.cancel(order.client_order_id)
        await self.journal.idle()
        await self.client.drain()

    def resume(self) -> None:
        """The operator's resume after a halt (a database failure, an alarm, the kill
        switch): sending allowed again, the bot's risk gate ACTIVE and the bot running."""
        self.journal.resume()
        if self.core is not None:
            self.core.risk.set_state(TradingState.ACTIVE)
            self.core.resume_trading()

    # ------------------------------------------------------------------ stop

    async def close(self) -> None:
        """Orderly stop: stream (listenKey deleted), then journal and client."""
        await self.stream.close()
        await self.journal.idle()
        await self._cancel_tasks()
        await self.journal.close()
        await self.client.close()

    async def abort(self) -> None:
        """Stop every task at once, writing and sending nothing more (what a SIGKILL leaves:
        tests of crash recovery)."""
        stream_task = self.stream._task  # no goodbye on a crash: the task, not close()
        if stream_task is not None:
            stream_task.cancel()
        keepalive = getattr(self.stream, "_keepalive", None)
        if keepalive is not None:
            keepalive.cancel()
        await self._cancel_tasks()
        await self.journal.close()
        await self.client.close()

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    # ------------------------------------------------------------------ events

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_user(self, item: UserItem | UserStreamReconnected) -> None:
        self.client.handle_user_event(item)

    def _on_order_event(self, event: OrderEvent) -> None:
        core = self.core
        if core is None:
            return
        core.on_order_event(event)
        if event.fill is not None or event.status in TERMINAL:
            self._schedule_protect()
        if event.status is OrderStatus.REJECTED and any(
                code in event.reason for code in _FILTER_CODES):
            self._refresh_filters()

    def _schedule_protect(self) -> None:
        # Later, not inside the event: the bot may be in the middle of a hook.
        if not self._protect_scheduled:
            self._protect_scheduled = True
            asyncio.get_running_loop().call_soon(self._run_protect)

    def _run_protect(self) -> None:
        self._protect_scheduled = False
        if self.protect is not None:
            self.protect.check()

    def _refresh_filters(self) -> None:
        """One exchangeInfo refresh after a filter reject, at most every ``filter_refresh_s``
        (never a loop): the client's local validator then catches the next bad order."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_filter_refresh < self.config.filter_refresh_s:
            return
        self._last_filter_refresh = loop.time()
        self._spawn(self._load_filters(), "live-filters")

    async def _load_filters(self) -> None:
        market = self.config.instrument.market
        try:
            instruments = await self._rest.instruments(market)
        except ExchangeError as e:
            log.warning("exchangeInfo refresh failed: %s", e)
            return
        for instrument in instruments:
            if instrument.symbol == self.config.instrument.symbol:
                self.client.instruments[instrument.symbol] = instrument
                log.info("bot %s: filters of %s refreshed", self.config.bot_id,
                         instrument.symbol)

    def _on_account(self, event: AccountEvent) -> None:
        if isinstance(event, UserStreamReconnected):
            log.warning("bot %s: user stream reconnected (%s): reconciling", self.config.bot_id,
                        event.reason)
            self._spawn(self.reconcile(), "live-reconcile")
        elif isinstance(event, ExecutionAlarm):
            self.status.alarms.append(event)
            del self.status.alarms[:-100]  # bounded
            if event.kind in _HALTING:
                self._halt(f"{event.kind.value}: {event.reason}")

    def _halt(self, reason: str) -> None:
        log.error("bot %s: trading halted: %s", self.config.bot_id, reason)
        if self.core is not None:
            self.core.risk.set_state(TradingState.HALTED, reason)

    # ------------------------------------------------------------------ helpers

    async def _load_state(self) -> LocalState:
        return await asyncio.to_thread(load_local_state, self.engine, self.config.bot_id,
                                       self.config.instrument.symbol)

    def _position(self) -> Decimal:
        return self.core.portfolio.position.quantity if self.core is not None else Decimal(0)

    def _own_id(self, client_order_id: str) -> bool:
        """Whether the id is one of this bot's recomputable ids (near its intent sequence)."""
        if not client_order_id.startswith(CLIENT_ID_PREFIX):
            return False
        seq = int(self.core.snapshot()["intent_seq"]) if self.core is not None else 0
        first = max(0, seq - _SEQ_WINDOW)
        return client_order_id in client_order_ids(self.config.bot_id, first,
                                                   seq + _SEQ_WINDOW - first)



class _LastPrice:
    """The bot's last trade price for the client's notional checks of market orders."""

    def __init__(self) -> None:
        self.core: BotCore | None = None

    def price(self, symbol: str) -> Decimal | None:
        core = self.core
        if core is None or core.price != core.price:  # NaN: no price yet
            return None
        return Decimal(repr(core.price))


