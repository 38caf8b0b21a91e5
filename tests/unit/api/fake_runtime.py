"""An in-memory implementation of the ``Runtime`` port (its contract, not a stub of the API)."""

from __future__ import annotations

import dataclasses
import time

from binbot.core.event_bus import EventBus
from binbot.services.runtime import (
    BotView,
    ControlRefused,
    RuntimeHealth,
    StreamHealth,
    UnknownBot,
)


def bot_view(bot_id: str = "boll-avax", status: str = "running", qty: str = "2") -> BotView:
    return BotView(
        bot_id=bot_id, market="usdm", symbol="AVAXUSDT", interval="15m", strategy="boll",
        params={"period": 20, "k": 2}, mode="paper", status=status, capital="1000",
        equity="1012.5", realized_pnl="10", unrealized_pnl="2.5", fees="1.2",
        position_qty=qty, entry_price="6.39", last_price=6.41, trades=12, winning_trades=7,
        indicators={"mid": 20.0, "up": 21.0, "dn": 19.0},
    )


class FakeRuntime:
    """Applies controls with the state rules a real engine has, and publishes ``bot`` events."""

    def __init__(self, bus: EventBus | None = None, views: list[BotView] | None = None) -> None:
        self._views = {v.bot_id: v for v in (views or [bot_view()])}
        self._bus = bus
        self.calls: list[tuple[str, str]] = []

    def bots(self) -> list[BotView]:
        return list(self._views.values())

    def health(self) -> RuntimeHealth:
        now = int(time.time() * 1000)
        return RuntimeHealth(started_ms=now - 60_000, venue="local",
                             streams=(StreamHealth("usdm:avaxusdt@kline_15m", now - 500, False),),
                             dropped_events=0)

    def _get(self, bot_id: str) -> BotView:
        try:
            return self._views[bot_id]
        except KeyError:
            raise UnknownBot(bot_id) from None

    def _set(self, action: str, view: BotView) -> BotView:
        self.calls.append((action, view.bot_id))
        self._views[view.bot_id] = view
        if self._bus is not None:
            self._bus.publish("bot", dataclasses.asdict(view))
        return view

    async def pause(self, bot_id: str) -> BotView:
        view = self._get(bot_id)
        if view.status != "running":
            raise ControlRefused(f"cannot pause a {view.status} bot")
        return self._set("pause", dataclasses.replace(view, status="paused"))

    async def resume(self, bot_id: str) -> BotView:
        view = self._get(bot_id)
        if view.status == "halted":
            raise ControlRefused("a halted bot needs `binbot resume` after the cause is fixed")
        return self._set("resume", dataclasses.replace(view, status="running"))

    async def stop(self, bot_id: str) -> BotView:
        view = self._get(bot_id)
        return self._set("stop", dataclasses.replace(view, status="stopped"))

    async def close_position(self, bot_id: str) -> BotView:
        view = self._get(bot_id)
        if view.position_qty in ("0", ""):
            raise ControlRefused("no open position")
        return self._set("close", dataclasses.replace(view, position_qty="0", entry_price="0"))
