"""BotRunner: one bot in the live service (paper execution on live market data).

It feeds a ``BotCore`` from the market data hub, persists what the bot does and publishes it to
the event bus. Durability model: the bot's whole state (``BotCore.snapshot`` + the simulated
account) is written together with the orders, fills and trades it produced, in one transaction,
whenever that state changed; ``last_event_ms`` records the last price the bot processed. After a
restart (even after SIGKILL) the bot is restored from that snapshot and the prices since are
replayed from 1m candles (``services.tape``) before live prices resume, so its decisions are
the same as if it had never stopped. Orders are keyed by their deterministic client order id
and trades by (order, action), so replaying a decision never duplicates a record.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import aiohttp
from sqlalchemy import Connection, Engine, select, text

from binbot.adapters.binance.endpoints import endpoints_for
from binbot.adapters.binance.execution import ExecutionOptions
from binbot.adapters.paper import PaperExecutionClient, PaperRecord, sim_config_from_settings
from binbot.config.settings import BotSettings, ExchangeSettings, PaperSettings
from binbot.core.event_bus import EventBus
from binbot.domain.instrument import Instrument
from binbot.domain.market import MINUTE_MS, Market, interval_ms
from binbot.domain.market_events import (
    BookTickerEvent,
    KlineEvent,
    MarketEvent,
    MarkPriceEvent,
    Reconnected,
    StaleData,
    TradeEvent,
)
from binbot.domain.streams import StreamKey, StreamKind
from binbot.engine import BotCore, BotStatus
from binbot.engine.events import (
    BotEvent,
    FillRecorded,
    IntentCreated,
    OrderUpdated,
    RiskRejected,
    RiskTriggered,
    StatusChanged,
    StrategyErrored,
)
from binbot.engine.risk import RiskLimits
from binbot.marketdata.hub import MarketDataHub
from binbot.ports.execution import ExecutionClient
from binbot.ports.market_data import MarketDataRest
from binbot.services.bots import definition_row, save_definition
from binbot.services.deferred_execution import DeferredExecution
from binbot.services.live.session import LiveConfig, LiveSession
from binbot.services.runtime import BotView
from binbot.services.tape import TapeReplayer
from binbot.services.trading_records import (
    fill_row,
    order_row,
    signal_row,
    trade_row,
)
from binbot.storage import trading_tables as t
from binbot.storage.candles import SqlCandleStore
from binbot.storage.writer import Writer, upsert_rows
from binbot.strategy import load_strategy

log = logging.getLogger(__name__)

_CATCH_UP_POLL_S = 0.05
_CATCH_UP_IDLE_ROUNDS = 40  # give up waiting for live trades after ~2 s of a silent market
_MAX_CANDLE_WAIT_S = 10.0
_CANDLES_KEPT = 400
# Checkpoint the position in the tape this often even when nothing else changed, so a restart
# has little to replay and `binbot status` sees fresh times.
_SNAPSHOT_EVERY_S = 5.0
_RISK_EVENTS_KEPT = 20
# Snapshot statuses of a bot that was trading when it went down: it replays what it missed.
_RESUMABLE = ("running", "paused")


@dataclass(frozen=True, slots=True)
class RunnerDeps:
    """What every runner shares (built once by the composition root)."""

    writer: Writer
    engine: Engine
    store: SqlCandleStore
    hub: MarketDataHub
    rest: MarketDataRest
    bus: EventBus
    paper: PaperSettings
    exchange_name: str
    now_ms: Callable[[], int]
    # testnet/live bots: the HTTP session and exchange settings their LiveSession uses.
    http: aiohttp.ClientSession | None = None
    exchange: ExchangeSettings | None = None


@dataclass
class _Pending:
    orders: dict[str, dict[str, Any]]
    fills: list[dict[str, Any]]
    trades: list[dict[str, Any]]
    signals: list[dict[str, Any]]
    state_changed: bool

    @classmethod
    def empty(cls) -> _Pending:
        return cls({}, [], [], [], False)

    def __bool__(self) -> bool:
        return bool(self.orders or self.fills or self.trades or self.signals or
                    self.state_changed)

    def merge(self, other: _Pending) -> None:
        self.orders.update(other.orders)
        self.fills.extend(other.fills)
        self.trades.extend(other.trades)
        self.signals.extend(other.signals)
        self.state_changed = self.state_changed or other.state_changed


class BotRunner:
    def __init__(self, settings: BotSettings, instrument: Instrument, deps: RunnerDeps) -> None:
        self.settings = settings
        self.instrument = instrument
        self._deps = deps
        strategy = load_strategy(settings.strategy, settings.params)
        execution: ExecutionClient
        # Paper bots trade against the shared simulator, fed the same prices as the bot;
        # testnet/live bots get their LiveSession's client when ``start`` opens it.
        self.paper: PaperExecutionClient | None = None
        self.live: LiveSession | None = None
        self._deferred: DeferredExecution | None = None
        if settings.mode == "paper":
            self.paper = PaperExecutionClient(
                settings.id, instrument,
                sim_config_from_settings(deps.paper, settings.market, settings.capital,
                                         settings.leverage),
                records=self._on_paper_record,
            )
            execution = self.paper
        else:
            self._deferred = execution = DeferredExecution()
        self.core = BotCore(
            settings.id, instrument, settings.interval, strategy, execution,
            capital=settings.capital, leverage=settings.leverage,
            risk_limits=RiskLimits.from_dict(settings.risk), events=self._on_bot_event,
            # Both are part of every state snapshot: enough candles for the slowest built-in
            # indicator (SMA 120) with room to spare, and the recent trades (all are in the DB).
            candle_capacity=_CANDLES_KEPT, max_trades=50,
        )
        self.keys = self._stream_keys()
        self._tape_ms = 0
        self.first_tape_ms: int | None = None
        # Trades that belong after an interval candle the bot has not seen close yet; they wait
        # for it (the kline close can trail the next interval's first trade, or be held back by
        # the hub's gap repair) so every trade sees the bands of its own interval.
        self._waiting: list[TradeEvent] = []
        self._waiting_since = 0.0
        self._interval_ms = interval_ms(settings.interval)
        self._pending = _Pending.empty()  # changes of the batch being processed
        self._unsaved = _Pending.empty()  # changes handed over, not yet committed
        self._dirty = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._persist_task: asyncio.Task[None] | None = None
        self._signature: tuple[Any, ...] | None = None
        self._held: list[MarketEvent] = []
        self._gate_open = False
        self._catch_up_task: asyncio.Task[None] | None = None
        self._last_equity_minute = 0
        self._snapshot_wall = 0.0
        self._snapshot_tape = 0
        self.stale = False
        self.last_error: str | None = None
        # The latest risk rejections and triggers, newest last (the dashboard and stats show
        # them; each is also logged by the engine and published as a "risk" bus event).
        self.risk_events: deque[dict[str, Any]] = deque(maxlen=_RISK_EVENTS_KEPT)
        self.latency_samples: list[int] | None = None  # set by benchmarks: ns per trade
        # Called with the fill rows of each committed write (benchmarks time it).
        self.committed_hook: Callable[[list[dict[str, Any]]], None] | None = None

    @property
    def bot_id(self) -> str:
        return self.settings.id

    def _stream_keys(self) -> tuple[StreamKey, ...]:
        s = self.settings
        keys = [StreamKey(s.market, s.symbol, StreamKind.KLINE, s.interval),
                StreamKey(s.market, s.symbol, StreamKind.AGG_TRADE)]
        if s.market is Market.USDM and self._deps.paper.use_mark_price:
            keys.append(StreamKey(s.market, s.symbol, StreamKind.MARK_PRICE))
        if self._deps.paper.fill_price == "book":
            keys.append(StreamKey(s.market, s.symbol, StreamKind.BOOK_TICKER))
        return tuple(keys)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, *, run: bool | None = None) -> None:
        """Restore or warm up, subscribe, catch up on missed prices, then go live.

        A bot restored mid-run (running or paused when it went down) replays the prices it
        missed, so it decides as if it had never stopped. One that was stopped (or never
        started) goes on from now instead: its portfolio and strategy state come back, its
        candles are brought up to date from the store, and nothing of the time it was stopped
        is traded. ``run``: start the strategy or not; None: yes for a restored bot, else
        ``auto_start``.
        """
        await self._save_bot_row()
        self._persist_task = asyncio.create_task(self._persist_loop(),
                                                 name=f"persist-{self.bot_id}")
        saved = await asyncio.to_thread(self._read_snapshot)
        if self._deferred is not None:
            await self._open_live(saved)
        await self._deps.hub.add_consumer(self.bot_id, self.keys, self._on_batch)
        resumed = False
        if saved is not None and self.paper is not None:
            snapshot, self._tape_ms = saved
            self.core.restore(snapshot["bot"])
            if snapshot.get("paper"):
                self.paper.restore(snapshot["paper"])
            resumed = snapshot["bot"].get("status") in _RESUMABLE
            log.info("bot %s restored (last price at %d)", self.bot_id, self._tape_ms)
        if not resumed:
            await self._deps.store.flush()
            history = await self._deps.store.candles(
                self.settings.market, self.settings.symbol, self.settings.interval)
            # After a restore only candles newer than the snapshot's are appended.
            self.core.load_history(history[-_CANDLES_KEPT:])
            log.info("bot %s starts from now with %d candles of history", self.bot_id,
                     len(history))
        if run if run is not None else (self.settings.auto_start or saved is not None):
            if self.live is not None:
                # Reconciles with the exchange before the strategy may trade.
                report = await self.live.start(self.core)
                log.info("bot %s reconciled: %s", self.bot_id, report)
            else:
                self.core.start()
        self._signature = self._state_signature()
        if resumed:
            self._start_catch_up()
        else:
            self._gate_open = True
            held, self._held = self._held, []
            self._process(held)
        await self._commit()

    async def _open_live(self, saved: tuple[dict[str, Any], int] | None) -> None:
        """Open the bot's LiveSession and restore from the snapshot merged with its journal."""
        deps = self._deps
        if deps.http is None or deps.exchange is None or self._deferred is None:
            raise RuntimeError("a testnet/live bot needs RunnerDeps.http and .exchange")
        exchange = deps.exchange
        config = LiveConfig(
            bot_id=self.bot_id, mode=self.settings.mode,
            venue=trading_venue(self.settings.mode, exchange.venue),
            instrument=self.instrument, local_host=exchange.local_host,
            local_port=exchange.local_port, leverage=self.settings.leverage,
            recv_window_ms=exchange.recv_window_ms,
            request_timeout_s=exchange.request_timeout_s,
            execution=self._execution_options(exchange),
        )
        self.live = await LiveSession.open(config, http=deps.http, writer=deps.writer,
                                           engine=deps.engine)
        self._deferred.attach(self.live.execution)
        snapshot = None
        if saved is not None:
            snapshot, self._tape_ms = saved[0]["bot"], saved[1]
        # Always: moves the intent sequence past every journaled client order id.
        self.core.restore(await self.live.prepare_snapshot(snapshot, self.core))

    def _execution_options(self, exchange: ExchangeSettings) -> ExecutionOptions:
        if exchange.order_transport == "rest" or self.settings.market is not Market.USDM:
            return ExecutionOptions()
        venue = trading_venue(self.settings.mode, exchange.venue)
        endpoints = endpoints_for(venue, exchange.local_host, exchange.local_port)
        return ExecutionOptions(order_transport="ws_api", ws_api_url=endpoints.ws_api_usdm,
                                ws_api_timeout_s=exchange.request_timeout_s)

    async def load(self) -> None:
        """Restore the saved state without subscribing: the figures of a stopped bot."""
        saved = await asyncio.to_thread(self._read_snapshot)
        if saved is not None:
            snapshot, self._tape_ms = saved
            self.core.restore(snapshot["bot"])
            if self.paper is not None and snapshot.get("paper"):
                self.paper.restore(snapshot["paper"])

    async def stop(self) -> None:
        if self._catch_up_task is not None:
            self._catch_up_task.cancel()
            await asyncio.gather(self._catch_up_task, return_exceptions=True)
        await self._deps.hub.remove_consumer(self.bot_id)
        await self._commit(force_snapshot=True)
        await self.flush()
        if self.live is not None:
            await self.live.close()
        if self._persist_task is not None:
            self._persist_task.cancel()
            await asyncio.gather(self._persist_task, return_exceptions=True)

    # -- controls (the API's Runtime calls these) ------------------------------------------

    async def pause(self) -> None:
        self.core.pause("paused by operator")
        await self._commit(force_snapshot=True)
        await self.flush()

    async def resume(self) -> None:
        if self.core.kill_switch:
            # The operator's explicit resume is the manual resume the kill switch waits for.
            self.core.resume_trading()
        elif self.core.status in (BotStatus.STOPPED, BotStatus.CREATED):
            self.core.start()
        else:
            self.core.resume()
        await self._commit(force_snapshot=True)
        await self.flush()

    async def halt(self) -> None:
        self.core.stop()
        await self._commit(force_snapshot=True)
        await self.flush()

    async def kill(self, reason: str = "kill switch") -> None:
        """Cancel open orders, flatten reduce-only and halt; persisted, needs a manual resume."""
        if self.live is not None:
            await self.live.kill(reason)
        else:
            self.core.halt_trading(reason, flatten=True)
        await self._commit(force_snapshot=True)
        await self.flush()

    async def close_position(self) -> None:
        self.core.close_position()
        await self._commit(force_snapshot=True)
        await self.flush()

    # -- market data -----------------------------------------------------------------------

    async def _on_batch(self, batch: list[MarketEvent]) -> None:
        if not self._gate_open:
            self._held.extend(batch)
            return
        self._process(batch)
        await self._commit()

    def _process(self, batch: list[MarketEvent]) -> None:
        for index, event in enumerate(batch):
            if isinstance(event, TradeEvent):
                if self._waiting or event.trade_time >= self._forming_end():
                    self._wait(event)
                else:
                    self._trade(event)
            elif isinstance(event, Reconnected):
                self.stale = False
                if self.paper is not None and any(
                        k.kind is StreamKind.AGG_TRADE for k in event.streams):
                    # A live bot never trades on past prices: it goes on from now, and its
                    # orders and fills are reconciled with the exchange (LiveSession).
                    log.warning("bot %s: trade stream reconnected; replaying missed prices",
                                self.bot_id)
                    self._held.extend(batch[index + 1:])
                    self._start_catch_up()
                    return
            else:
                self._on_market_state(event)
                if self._waiting and isinstance(event, KlineEvent) and event.candle.closed:
                    self._release_waiting(force=False)
        if self._waiting:
            self._release_waiting(force=False)

    def _trade(self, event: TradeEvent) -> None:
        if event.trade_time <= self._tape_ms:
            return
        self._tape_ms = event.trade_time
        if self.first_tape_ms is None:
            self.first_tape_ms = event.trade_time
        if self.stale:
            self.stale = False
            self.core.risk.mark_fresh()
        if self.paper is not None:
            self.paper.on_price(event.trade_time, event.price)
        self.core.on_price(event.trade_time, event.price)
        if self.latency_samples is not None:
            self.latency_samples.append(time.perf_counter_ns())

    def _forming_end(self) -> int:
        """End of the interval after the last closed candle (no limit before the first one)."""
        candles = self.core.candles
        if not len(candles):
            return 1 << 62
        return int(candles.open_time[-1]) + 2 * self._interval_ms

    def _wait(self, event: TradeEvent) -> None:
        if not self._waiting:
            self._waiting_since = time.monotonic()
        self._waiting.append(event)

    def _release_waiting(self, *, force: bool) -> None:
        waited = time.monotonic() - self._waiting_since
        if not force and waited > _MAX_CANDLE_WAIT_S:
            log.warning("bot %s: no close of the candle before %d after %.0fs; trading on",
                        self.bot_id, self._forming_end(), waited)
            force = True
        waiting, self._waiting = self._waiting, []
        for index, event in enumerate(waiting):
            if not force and event.trade_time >= self._forming_end():
                self._waiting = waiting[index:]
                return
            self._trade(event)

    def _on_market_state(self, event: MarketEvent) -> None:
        core, paper = self.core, self.paper
        if isinstance(event, KlineEvent):
            candle = event.candle
            if candle.interval != self.settings.interval:
                return
            if candle.closed:
                core.on_candle_closed(candle)
            else:
                core.on_forming_candle(candle)
        elif isinstance(event, MarkPriceEvent):
            if paper is not None:
                paper.on_mark_price(event.event_time, event.mark_price)
            core.on_mark_price(event.event_time, event.mark_price)
        elif isinstance(event, BookTickerEvent):
            if paper is not None:
                paper.on_book_ticker(event.event_time, event.bid_price, event.ask_price)
            core.on_book_ticker(event.event_time, event.bid_price, event.ask_price)
        elif isinstance(event, StaleData):
            self.stale = True
            # reliability.md rule 5: stale data blocks new entries; exits stay allowed.
            core.risk.mark_stale(f"market data stale for {event.silent_for_s:.0f} s")
            self._deps.bus.publish("health", {"bot_id": self.bot_id, "stale": True,
                                              "silent_for_s": event.silent_for_s})

    # -- catching up on missed prices --------------------------------------------------------

    def _start_catch_up(self) -> None:
        self._gate_open = False
        if self._catch_up_task is None or self._catch_up_task.done():
            self._catch_up_task = asyncio.create_task(self._catch_up(),
                                                      name=f"catch-up-{self.bot_id}")

    async def _catch_up(self) -> None:
        """Replay 1m candles after the last processed price until live trades take over."""
        s = self.settings
        replayer = TapeReplayer(s.interval, self._tape_ms, self._replay_price,
                                self.core.on_candle_closed)
        start = TapeReplayer.fetch_start(self._tape_ms, s.interval)
        idle = 0
        replayed = 0
        while True:
            try:
                # The server's time decides which 1m candle is still forming (never replayed).
                await self._deps.rest.server_time(s.market)
                async for page in self._deps.rest.kline_history(s.market, s.symbol, "1m", start):
                    replayed += replayer.feed(page)
            except Exception as e:
                log.warning("bot %s: catch-up fetch failed (%s); retrying", self.bot_id, e)
                await asyncio.sleep(1.0)
                continue
            if replayer.replayed_through is not None:
                start = replayer.replayed_through + MINUTE_MS
            await self._commit()
            first_live = next((e.trade_time for e in self._held if isinstance(e, TradeEvent)),
                              None)
            if first_live is not None:
                minute = first_live - first_live % MINUTE_MS
                if replayer.replayed_through is not None and replayer.replayed_through >= minute:
                    break
            else:
                idle += 1
                if idle >= _CATCH_UP_IDLE_ROUNDS:
                    break
            await asyncio.sleep(_CATCH_UP_POLL_S)
        log.info("bot %s: replayed %d missed minute(s); live again", self.bot_id, replayed)
        self._gate_open = True
        held, self._held = self._held, []
        self._process(held)
        await self._commit(force_snapshot=True)

    def _replay_price(self, time_ms: int, price: float) -> None:
        self._tape_ms = time_ms
        if self.first_tape_ms is None:
            self.first_tape_ms = time_ms
        if self.paper is not None:
            self.paper.on_price(time_ms, price)
            if self._deps.paper.use_mark_price:
                # No mark stream exists for the past: the trade price stands in for it. Without
                # a mark stream live, the simulator values at the last price, so must here.
                self.paper.on_mark_price(time_ms, price)
        self.core.on_price(time_ms, price)

    # -- records -----------------------------------------------------------------------------

    def _on_paper_record(self, record: PaperRecord) -> None:
        """Paper orders land in ``orders`` via the bot's own events; nothing extra to keep."""

    def _on_bot_event(self, event: BotEvent) -> None:
        pending = self._pending
        bus = self._deps.bus
        now = self._deps.now_ms()
        if isinstance(event, IntentCreated):
            pending.state_changed = True
        elif isinstance(event, OrderUpdated):
            # A live bot's order rows and fills belong to its intent journal, which commits the
            # intent before the send; a second writer of those rows would race it.
            if self.live is None:
                row = order_row(event.order, self.settings.mode, now)
                pending.orders[row["client_order_id"]] = row
            pending.state_changed = True
        elif isinstance(event, FillRecorded):
            if self.live is None:
                pending.fills.append(fill_row(self.bot_id, event.fill))
            pending.state_changed = True
            for leg in event.trades:
                pending.trades.append(trade_row(self.bot_id, self.settings.symbol, leg))
                signal = signal_row(self.bot_id, self._deps.exchange_name,
                                    self.settings.market.value, self.settings.symbol,
                                    self.settings.interval, leg)
                pending.signals.append(signal)
        elif isinstance(event, StatusChanged):
            pending.state_changed = True
            bus.publish("bot", asdict(self.view()))
        elif isinstance(event, StrategyErrored):
            self.last_error = str(event.failure)
            pending.state_changed = True
        elif isinstance(event, RiskRejected | RiskTriggered):
            self._on_risk_event(event)

    def _on_risk_event(self, event: RiskRejected | RiskTriggered) -> None:
        """Keep and publish it (the engine has logged it with its reason already)."""
        record: dict[str, Any] = {"bot_id": self.bot_id, "time_ms": event.time,
                                  "rule": event.rule, "reason": event.reason}
        if isinstance(event, RiskRejected):
            intent = event.intent
            record.update(kind="rejected", action="reject", side=intent.side.value,
                          quantity=format(intent.quantity, "f"),
                          client_order_id=intent.client_order_id, tag=intent.tag)
        else:
            record.update(kind="triggered", action=event.action)
        self.risk_events.append(record)
        self._pending.state_changed = True
        self._deps.bus.publish("risk", record)

    def _state_signature(self) -> tuple[Any, ...]:
        candles = self.core.candles
        last_candle = int(candles.open_time[-1]) if len(candles) else None
        return (repr(self.core.strategy.save_state()), last_candle, self.core.status.value)

    async def _commit(self, *, force_snapshot: bool = False) -> None:
        """Hand what the last batch changed to the persistence task; never waits for the disk.

        The state snapshot is taken when the write starts, so it always covers every order and
        fill written with it (one transaction), however many batches were merged meanwhile.
        """
        signature = self._state_signature()
        if signature != self._signature:
            self._pending.state_changed = True
            self._signature = signature
        wall = time.monotonic()
        if force_snapshot or (wall - self._snapshot_wall > _SNAPSHOT_EVERY_S
                              and self._tape_ms != self._snapshot_tape):
            self._pending.state_changed = True
        if self._pending.state_changed:
            self._snapshot_wall = wall
            self._snapshot_tape = self._tape_ms
        pending, self._pending = self._pending, _Pending.empty()
        if pending:
            self._unsaved.merge(pending)
            self._dirty.set()
        await self._periodic()

    async def flush(self) -> None:
        """Wait until every change handed over so far is committed."""
        await self._write_unsaved()

    async def _persist_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self._write_unsaved()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bot %s: could not persist its state; will retry", self.bot_id)
                self._dirty.set()
                await asyncio.sleep(1.0)

    async def _write_unsaved(self) -> None:
        async with self._write_lock:
            # Records of prices processed since the last hand-over (a catch-up awaits between
            # pages) go with the state snapshot taken now, never after it.
            if self._pending:
                self._unsaved.merge(self._pending)
                self._pending = _Pending.empty()
            unsaved, self._unsaved = self._unsaved, _Pending.empty()
            if not unsaved:
                return
            rows = self._rows(unsaved)
            state: dict[str, list[dict[str, Any]]] = {
                key: rows.pop(key) for key in ("bot_state", "bots") if key in rows}
            try:
                # The records first, in a small transaction (a fill is durable sooner), then the
                # state. A crash between the two leaves the state one step behind its records,
                # which is safe: the restart replays that step, deterministically, onto records
                # that are keyed by client order id and so are not written twice. The reverse
                # order could lose records, so it is never used.
                if any(rows.values()):
                    await self._deps.writer.run(lambda connection: _write(connection, rows))
                if self.committed_hook is not None:
                    self.committed_hook(unsaved.fills)
                if state:
                    await self._deps.writer.run(lambda connection: _write_state(connection,
                                                                                state))
            except BaseException:
                unsaved.merge(self._unsaved)  # keep everything for the next attempt
                self._unsaved = unsaved
                raise

    def _rows(self, pending: _Pending) -> dict[str, list[dict[str, Any]]]:
        now = self._deps.now_ms()
        rows: dict[str, list[dict[str, Any]]] = {
            "orders": list(pending.orders.values()),
            "fills": pending.fills,
            "trades": pending.trades,
            "signals": pending.signals,
        }
        if pending.fills or pending.state_changed:
            rows["positions"] = [self._position_row(now)]
        if pending.state_changed:
            rows["bot_state"] = [{
                "bot_id": self.bot_id,
                "snapshot": {"bot": self.core.snapshot(),
                             "paper": None if self.paper is None else self.paper.snapshot()},
                "last_event_ms": self._tape_ms,
                "updated_ms": now,
            }]
            rows["bots"] = [self._bot_row(now)]
        return rows

    def _position_row(self, now: int) -> dict[str, Any]:
        portfolio = self.core.portfolio
        position = portfolio.position
        price = self._valuation()
        liquidation = portfolio.liquidation_price()
        return {
            "bot_id": self.bot_id,
            "symbol": self.settings.symbol,
            "quantity": format(position.quantity, "f"),
            "entry_price": format(position.entry_price, "f"),
            "realized_pnl": format(portfolio.realised_pnl, "f"),
            "unrealized_pnl": format(portfolio.unrealised_pnl(price), "f")
            if price is not None else "0",
            "mark_price": None if price is None else format(price, "f"),
            "liquidation_price": None if liquidation is None else format(liquidation, "f"),
            "leverage": portfolio.leverage,
            "updated_ms": now,
        }

    def _bot_row(self, now: int) -> dict[str, Any]:
        return definition_row(self.settings, self.status, now)

    @property
    def status(self) -> str:
        """running, paused, stopped, created, or halted (the kill switch tripped)."""
        return "halted" if self.core.kill_switch else self.core.status.value

    async def _save_bot_row(self) -> None:
        row = self._bot_row(self._deps.now_ms())
        row["status"] = "starting"
        await self._deps.writer.run(lambda connection: save_definition(connection, row))

    def _read_snapshot(self) -> tuple[dict[str, Any], int] | None:
        with self._deps.engine.connect() as connection:
            found = connection.execute(
                select(t.bot_state.c.snapshot, t.bot_state.c.last_event_ms)
                .where(t.bot_state.c.bot_id == self.bot_id)).first()
        if found is None:
            return None
        return dict(found[0]), int(found[1])

    # -- periodic: equity snapshots, signal returns, ticks ----------------------------------

    def _valuation(self) -> Decimal | None:
        price = self.core.mark_price if self.core.mark_price == self.core.mark_price else (
            self.core.price)
        if price != price:  # NaN: no price yet
            return None
        return Decimal(repr(price))

    async def _periodic(self) -> None:
        bot_time = self.core.time
        minute = bot_time - bot_time % MINUTE_MS
        if bot_time and minute > self._last_equity_minute:
            self._last_equity_minute = minute
            await self._record_minute(minute)

    async def _record_minute(self, minute: int) -> None:
        price = self._valuation()
        if price is None:
            return
        portfolio = self.core.portfolio
        row = {
            "bot_id": self.bot_id, "time_ms": minute,
            "equity": format(portfolio.equity(price), "f"),
            "balance": format(portfolio.balance, "f"),
            "unrealized_pnl": format(portfolio.unrealised_pnl(price), "f"),
            "position_qty": format(portfolio.position.quantity, "f"),
            "price": float(price),
        }
        await self._deps.writer.upsert(t.equity_snapshots, [row])
        last = float(price)
        bot_id = self.bot_id

        def refresh_signals(connection: Connection) -> None:
            connection.execute(text(
                "UPDATE signals SET last_price = :p, updated_ms = :t, return_since = CASE "
                "WHEN kind IN ('open_long', 'close_short') THEN (:p - price) / price "
                "ELSE (price - :p) / price END "
                "WHERE bot_id = :b AND id IN (SELECT id FROM signals WHERE bot_id = :b "
                "ORDER BY time_ms DESC LIMIT 200)"), {"p": last, "t": minute, "b": bot_id})

        await self._deps.writer.run(refresh_signals)

    # -- views for the API -------------------------------------------------------------------

    def view_position(self) -> dict[str, Any]:
        return self._position_row(self._deps.now_ms())

    def view(self) -> BotView:
        s = self.settings
        core = self.core
        portfolio = core.portfolio
        price = self._valuation()
        last = core.price
        return BotView(
            bot_id=s.id, market=s.market.value, symbol=s.symbol, interval=s.interval,
            strategy=s.strategy, params=dict(s.params), mode=s.mode, status=self.status,
            capital=format(portfolio.capital, "f"),
            equity=format(portfolio.equity(price), "f"),
            realized_pnl=format(portfolio.realised_pnl, "f"),
            unrealized_pnl=format(portfolio.unrealised_pnl(price), "f") if price else "0",
            fees=format(portfolio.fees, "f"),
            position_qty=format(portfolio.position.quantity, "f"),
            entry_price=format(portfolio.position.entry_price, "f"),
            last_price=None if last != last else last,
            trades=portfolio.closed_trades, winning_trades=portfolio.winning_trades,
            last_error=self.last_error,
        )


def trading_venue(mode: str, market_data_venue: str) -> str:
    """Where a testnet/live bot trades: the configured venue when it is a test venue or the
    local exchange, else Binance itself (live) or its testnet."""
    if market_data_venue in ("testnet", "demo", "local"):
        return market_data_venue
    return "binance" if mode == "live" else "testnet"


def _write(connection: Connection, rows: dict[str, list[dict[str, Any]]]) -> None:
    """One transaction: orders, fills, trades, signals, position."""
    if rows["orders"]:
        upsert_rows(connection, t.orders, rows["orders"])
    for fill in rows["fills"]:
        _insert_new(connection, t.fills, fill, ("bot_id", "trade_id"))
    for trade in rows["trades"]:
        _insert_new(connection, t.trades, trade, ("bot_id", "client_order_id", "action"))
    for signal in rows["signals"]:
        _insert_new(connection, t.signals, signal, ("bot_id", "time_ms", "kind"))
    if rows.get("positions"):
        upsert_rows(connection, t.positions, rows["positions"])


def _write_state(connection: Connection, rows: dict[str, list[dict[str, Any]]]) -> None:
    """One transaction: the bot's restorable state and its definition row."""
    if rows.get("bot_state"):
        upsert_rows(connection, t.bot_state, rows["bot_state"])
    if rows.get("bots"):
        save_definition(connection, rows["bots"][0])


def _insert_new(connection: Connection, table: Any, row: dict[str, Any],
                key: tuple[str, ...]) -> None:
    """Insert unless a row with the same natural key exists (a replayed decision)."""
    condition = [table.c[name] == row[name] for name in key]
    if connection.execute(select(table.c[key[0]]).where(*condition).limit(1)).first() is None:
        connection.execute(table.insert().values(**row))
