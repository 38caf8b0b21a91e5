"""ServiceRuntime: the live service's bots, behind the ``Runtime`` port the API uses.

Every bot known to the service has a slot: its definition, where it comes from (the config file
or the API) and its runner. An *active* runner is subscribed to market data (through the hub,
which shares one upstream subscription per stream between all bots) and processes it on its own
consumer task; a stopped bot has no subscription and its last runner only serves its figures.
Starting a stopped bot builds a fresh runner, which restores the saved state (``BotRunner``).

Controls on one bot are serialised by that bot's lock; creating a bot and ``start_all`` /
``stop_all`` take the runtime's lock as well, so two creations of one id cannot race.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, update

from binbot.config.settings import BotSettings, ExchangeSettings
from binbot.domain.instrument import Instrument
from binbot.marketdata.hub import MarketDataHub
from binbot.services.bot_runner import BotRunner, RunnerDeps
from binbot.services.bots import (
    check_definition,
    check_mode,
    definition_row,
    delete_bot_rows,
    insert_definition,
    save_definition,
    stored_definitions,
    with_risk_per_trade,
)
from binbot.services.instrument_book import InstrumentBook
from binbot.services.runtime import (
    BotDefinitionError,
    BotHealth,
    BotView,
    ControlRefused,
    DuplicateBot,
    RuntimeHealth,
    StreamHealth,
    UnknownBot,
)
from binbot.storage import trading_tables as t

log = logging.getLogger(__name__)

# Stored statuses of a bot that was meant to trade when the service went down.
_WAS_ACTIVE = ("running", "paused", "halted", "starting")


@dataclass
class _Slot:
    settings: BotSettings
    from_config: bool
    runner: BotRunner | None = None  # the active runner, or the last one (its figures)
    active: bool = False
    started: bool = False  # ever started (else a stopped bot shows as "created")
    error: str | None = None  # why it could not be started
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class ServiceRuntime:
    def __init__(self, hub: MarketDataHub, venue: str, deps: RunnerDeps | None = None,
                 instruments: InstrumentBook | None = None) -> None:
        self._hub = hub
        self._venue = venue
        self._deps = deps
        self._instruments = instruments
        self._slots: dict[str, _Slot] = {}
        self._lock = asyncio.Lock()
        self.started_ms = int(time.time() * 1000)

    # -- assembly ----------------------------------------------------------------------------

    def add(self, runner: BotRunner) -> None:
        """Register a runner the caller starts itself (benchmarks and tests)."""
        self._slots[runner.bot_id] = _Slot(runner.settings, from_config=True, runner=runner,
                                           active=True, started=True)

    @property
    def runners(self) -> list[BotRunner]:
        """The active runners, in the order their bots were added."""
        return [s.runner for s in self._slots.values() if s.active and s.runner is not None]

    async def boot(self, config_bots: Iterable[BotSettings]) -> None:
        """Store the config file's bots, then bring back every stored bot as it was: bots that
        were trading start again (and replay what they missed), stopped ones stay stopped,
        created ones start when ``auto_start`` says so. A bot of the config file whose symbol
        the exchange does not list stops the start-up (``BotDefinitionError``)."""
        deps = self._need_deps()
        config = {bot.id: bot for bot in config_bots}
        now = deps.now_ms()
        rows = [definition_row(bot, "created", now) for bot in config.values()]
        for row in rows:
            del row["status"]  # a new bot is "created"; a known one keeps its status

        def write(connection: Connection) -> None:
            for row in rows:
                save_definition(connection, row)

        await deps.writer.run(write)
        stored = await asyncio.to_thread(stored_definitions, deps.engine)
        for bot, status in stored:
            slot = _Slot(config.get(bot.id, bot), from_config=bot.id in config)
            self._slots[bot.id] = slot
            run = status in _WAS_ACTIVE or (status == "created" and slot.settings.auto_start)
            try:
                await self._instrument(slot.settings)
                if run:
                    await self._activate(slot, run=None)
                    log.info("bot %s running: %s %s %s %s (%s)", bot.id, bot.strategy,
                             bot.market, bot.symbol, bot.interval, bot.mode)
                else:
                    await self._load_figures(slot)
                    slot.started = status != "created"
                    log.info("bot %s is %s; start it to trade", bot.id,
                             "stopped" if slot.started else "not started")
            except BotDefinitionError as e:
                if slot.from_config:
                    raise BotDefinitionError(f"bot {bot.id}: {e}") from None
                slot.error = str(e)
                log.error("bot %s cannot start: %s", bot.id, e)

    async def shutdown(self) -> None:
        """Stop every active runner, committing its state (the bots resume at the next start)."""
        for slot in self._slots.values():
            if slot.active and slot.runner is not None:
                try:
                    await slot.runner.stop()
                except Exception:
                    log.exception("bot %s did not stop cleanly", slot.settings.id)
                slot.active = False

    # -- internals ---------------------------------------------------------------------------

    def _need_deps(self) -> RunnerDeps:
        if self._deps is None:
            raise ControlRefused("this runtime cannot create or start bots")
        return self._deps

    def _slot(self, bot_id: str) -> _Slot:
        try:
            return self._slots[bot_id]
        except KeyError:
            raise UnknownBot(bot_id) from None

    async def _instrument(self, bot: BotSettings) -> Instrument:
        if self._instruments is None:
            raise ControlRefused("this runtime cannot look up instruments")
        instrument = await self._instruments.get(bot.market, bot.symbol)
        if instrument is None:
            raise BotDefinitionError(
                f"unknown symbol {bot.symbol} on {bot.market.value} (not in the exchange's "
                "exchangeInfo)")
        if not instrument.trading:
            raise BotDefinitionError(
                f"{bot.symbol} on {bot.market.value} is not trading (status {instrument.status})")
        return instrument

    async def _runner(self, slot: _Slot) -> BotRunner:
        instrument = await self._instrument(slot.settings)
        try:
            return BotRunner(slot.settings, instrument, self._need_deps())
        except ValueError as e:  # its strategy no longer loads or accepts its parameters
            raise BotDefinitionError(f"cannot run: {e}") from None

    async def _activate(self, slot: _Slot, *, run: bool | None) -> None:
        runner = await self._runner(slot)
        try:
            await runner.start(run=run)
        except BaseException:
            with contextlib.suppress(Exception):
                await runner.stop()
            raise
        slot.runner, slot.active, slot.started, slot.error = runner, True, True, None

    async def _deactivate(self, slot: _Slot) -> None:
        runner = slot.runner
        if runner is None or not slot.active:
            return
        await runner.halt()
        await runner.stop()
        slot.active = False

    async def _load_figures(self, slot: _Slot) -> None:
        runner = await self._runner(slot)
        await runner.load()
        slot.runner = runner

    def _view(self, slot: _Slot) -> BotView:
        runner = slot.runner
        if runner is None:
            s = slot.settings
            return BotView(
                bot_id=s.id, market=s.market.value, symbol=s.symbol, interval=s.interval,
                strategy=s.strategy, params=dict(s.params), mode=s.mode,
                status="stopped" if slot.started else "created",
                capital=format(s.capital, "f"), equity=format(s.capital, "f"),
                realized_pnl="0", unrealized_pnl="0", fees="0", position_qty="0",
                entry_price="0", last_price=None, trades=0, winning_trades=0,
                last_error=slot.error)
        view = runner.view()
        if not slot.active:
            view = replace(view, status="stopped" if slot.started else "created",
                           last_error=slot.error or view.last_error)
        return view

    async def _set_stored_status(self, bot_id: str, status: str) -> None:
        deps = self._need_deps()
        now = deps.now_ms()

        def write(connection: Connection) -> None:
            connection.execute(update(t.bots).where(t.bots.c.bot_id == bot_id)
                               .values(status=status, updated_ms=now))

        await deps.writer.run(write)

    # -- Runtime: views ----------------------------------------------------------------------

    def bots(self) -> list[BotView]:
        # A copy first: the API calls this from a worker thread while bots come and go.
        return [self._view(slot) for slot in list(self._slots.values())]

    def view(self, bot_id: str) -> BotView:
        return self._view(self._slot(bot_id))

    def risk_events(self, bot_id: str) -> list[dict[str, Any]]:
        runner = self._slot(bot_id).runner
        return list(runner.risk_events) if runner is not None else []

    def health(self) -> RuntimeHealth:
        last = self._hub.last_event_ms()
        stale = self._hub.stale_keys()
        keys = sorted({key for runner in self.runners for key in runner.keys})
        streams = tuple(
            StreamHealth(
                stream=f"{key.market}:{key.symbol}:{key.kind}"
                + (f":{key.interval}" if key.interval else ""),
                last_event_ms=last.get(key),
                stale=key in stale,
            )
            for key in keys
        )
        return RuntimeHealth(self.started_ms, self._venue, streams,
                             sum(self._hub.dropped().values()))

    def bot_health(self) -> list[BotHealth]:
        dropped = self._hub.dropped()
        result = []
        for bot_id, slot in list(self._slots.items()):
            runner = slot.runner
            view = self._view(slot)
            result.append(BotHealth(
                bot_id=bot_id, status=view.status, active=slot.active,
                stale=bool(runner is not None and slot.active and runner.stale),
                last_event_ms=(runner.core.time or None) if runner is not None else None,
                dropped_events=dropped.get(bot_id, 0), last_error=view.last_error))
        return result

    # -- Runtime: controls -------------------------------------------------------------------

    async def pause(self, bot_id: str) -> BotView:
        slot = self._slot(bot_id)
        async with slot.lock:
            if not slot.active or slot.runner is None:
                raise ControlRefused(f"bot {bot_id} is not running")
            await slot.runner.pause()
            return self._view(slot)

    async def resume(self, bot_id: str) -> BotView:
        slot = self._slot(bot_id)
        async with slot.lock:
            if not slot.active or slot.runner is None:
                await self._activate(slot, run=True)
            else:
                await slot.runner.resume()
            return self._view(slot)

    async def stop(self, bot_id: str) -> BotView:
        slot = self._slot(bot_id)
        async with slot.lock:
            await self._deactivate(slot)
            slot.started = True
            # Also for a halted bot (whose own row says "halted"): it stays stopped at restarts.
            await self._set_stored_status(bot_id, "stopped")
            return self._view(slot)

    async def close_position(self, bot_id: str) -> BotView:
        slot = self._slot(bot_id)
        async with slot.lock:
            if not slot.active or slot.runner is None:
                raise ControlRefused(f"bot {bot_id} is stopped; start it to close its position")
            await slot.runner.close_position()
            return self._view(slot)

    async def start(self, bot_id: str) -> BotView:
        slot = self._slot(bot_id)
        async with slot.lock:
            runner = slot.runner
            if slot.active and runner is not None:
                if runner.core.kill_switch:
                    raise ControlRefused(
                        f"bot {bot_id} is halted by its kill switch ({runner.core.kill_switch});"
                        " resume it to lift the kill switch")
                if runner.status != "running":
                    await runner.resume()
            else:
                await self._activate(slot, run=True)
            return self._view(slot)

    async def create_bot(self, bot: BotSettings, *, risk_per_trade: float | None = None
                         ) -> BotView:
        deps = self._need_deps()
        async with self._lock:
            # The name is checked before anything imports it; the parameters again once
            # risk_per_trade joined them.
            check_definition(bot, builtin_only=True)
            check_mode(bot, deps.exchange or ExchangeSettings())
            if risk_per_trade is not None:
                bot = with_risk_per_trade(bot, risk_per_trade)
                check_definition(bot, builtin_only=True)
            if bot.id in self._slots:
                raise DuplicateBot(f"a bot with id {bot.id!r} exists already")
            await self._instrument(bot)
            row = definition_row(bot, "created", deps.now_ms())
            await deps.writer.run(lambda connection: insert_definition(connection, row))
            slot = _Slot(bot, from_config=False)
            self._slots[bot.id] = slot
            log.info("bot %s created: %s %s %s %s (%s)", bot.id, bot.strategy, bot.market,
                     bot.symbol, bot.interval, bot.mode)
            if bot.auto_start:
                async with slot.lock:
                    try:
                        await self._activate(slot, run=True)
                    except Exception as e:
                        log.exception("bot %s could not start; not created", bot.id)
                        del self._slots[bot.id]
                        await deps.writer.run(lambda c: delete_bot_rows(c, bot.id))
                        raise BotDefinitionError(f"bot {bot.id} could not start: {e}") from e
            return self._view(slot)

    async def remove(self, bot_id: str, *, force: bool = False) -> None:
        deps = self._need_deps()
        async with self._lock:
            slot = self._slot(bot_id)
            if slot.from_config:
                raise ControlRefused(
                    f"bot {bot_id} is defined in the config file; remove it there (and stop it "
                    "here), or it comes back at the next start")
            async with slot.lock:
                runner = slot.runner
                if runner is not None and not force:
                    quantity = runner.core.portfolio.position.quantity
                    if quantity != 0:
                        raise ControlRefused(
                            f"bot {bot_id} holds a position of {quantity} "
                            f"{slot.settings.symbol}; close it first, or remove with force")
                await self._deactivate(slot)
                await deps.writer.run(lambda c: delete_bot_rows(c, bot_id))
                del self._slots[bot_id]
            log.info("bot %s removed", bot_id)

    async def start_all(self) -> list[BotView]:
        """Start every bot that is not running, except those halted by their kill switch."""
        async with self._lock:
            for bot_id, slot in list(self._slots.items()):
                runner = slot.runner
                halted = slot.active and runner is not None and bool(runner.core.kill_switch)
                if halted or slot.error is not None:
                    continue
                try:
                    await self.start(bot_id)
                except (ControlRefused, BotDefinitionError) as e:
                    log.warning("start-all: bot %s not started: %s", bot_id, e)
            return self.bots()

    async def stop_all(self) -> list[BotView]:
        async with self._lock:
            for bot_id in list(self._slots):
                await self.stop(bot_id)
            return self.bots()

    async def kill_all(self, reason: str = "kill switch") -> list[str]:
        """The kill switch: every running bot cancels its orders, flattens reduce-only and
        halts; the halt is persisted and lifted only by an explicit resume. Works without the
        API (``binbot halt`` sends the service a SIGUSR1)."""
        killed: list[str] = []
        for bot_id, slot in list(self._slots.items()):
            async with slot.lock:
                if slot.active and slot.runner is not None:
                    try:
                        await slot.runner.kill(reason)
                    except Exception:
                        log.exception("kill switch failed for bot %s", bot_id)
                        continue
                    killed.append(bot_id)
        log.warning("kill switch (%s): halted %s", reason, ", ".join(killed) or "no bot")
        return killed
