"""ServiceRuntime: the live service's bots, behind the ``Runtime`` port the API uses."""

from __future__ import annotations

import time

from binbot.marketdata.hub import MarketDataHub
from binbot.services.bot_runner import BotRunner
from binbot.services.runtime import BotView, RuntimeHealth, StreamHealth, UnknownBot


class ServiceRuntime:
    def __init__(self, hub: MarketDataHub, venue: str) -> None:
        self._hub = hub
        self._venue = venue
        self._runners: dict[str, BotRunner] = {}
        self.started_ms = int(time.time() * 1000)

    def add(self, runner: BotRunner) -> None:
        self._runners[runner.bot_id] = runner

    @property
    def runners(self) -> list[BotRunner]:
        return list(self._runners.values())

    def _runner(self, bot_id: str) -> BotRunner:
        try:
            return self._runners[bot_id]
        except KeyError:
            raise UnknownBot(bot_id) from None

    # -- Runtime -----------------------------------------------------------------------------

    def bots(self) -> list[BotView]:
        return [runner.view() for runner in self._runners.values()]

    def health(self) -> RuntimeHealth:
        last = self._hub.last_event_ms()
        stale = self._hub.stale_keys()
        keys = sorted({key for runner in self._runners.values() for key in runner.keys})
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

    async def pause(self, bot_id: str) -> BotView:
        runner = self._runner(bot_id)
        await runner.pause()
        return runner.view()

    async def resume(self, bot_id: str) -> BotView:
        runner = self._runner(bot_id)
        await runner.resume()
        return runner.view()

    async def stop(self, bot_id: str) -> BotView:
        runner = self._runner(bot_id)
        await runner.halt()
        return runner.view()

    async def close_position(self, bot_id: str) -> BotView:
        runner = self._runner(bot_id)
        await runner.close_position()
        return runner.view()
