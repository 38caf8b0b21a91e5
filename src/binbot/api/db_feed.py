"""Publishes a ``tick`` each second and announces rows that appear in the database.

This is what makes the dashboard live under ``binbot serve`` (another process writes the
database) and gives ``binbot run`` a once-a-second summary. Blocking reads run in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from binbot.api import summary
from binbot.api.container import ApiContainer
from binbot.api.queries import trading as q

log = logging.getLogger(__name__)


class DbFeed:
    def __init__(self, container: ApiContainer, period_s: float = 1.0) -> None:
        self._container = container
        self._period = period_s
        self._marks: dict[str, int] | None = None

    async def run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                events = await asyncio.to_thread(self.poll)
            except Exception:
                # A locked or briefly unreachable database must not end the feed.
                log.warning("dashboard feed: database read failed", exc_info=True)
                events = []
            if any(kind != "tick" for kind, _ in events):
                # New rows: pages refetch on these events, and must not get a cached read.
                self._container.reads.clear()
            for kind, payload in events:
                self._container.bus.publish(kind, payload)
            await asyncio.sleep(max(0.05, self._period - (time.monotonic() - started)))

    def poll(self) -> list[tuple[str, dict[str, Any]]]:
        """One round: the new rows since the last round, then a tick (blocking)."""
        engine = self._container.engine
        events: list[tuple[str, dict[str, Any]]] = []
        if self._marks is None:
            self._marks = q.max_ids(engine)
        else:
            marks = self._marks
            for order in q.orders_updated_after(engine, marks["order_ms"]):
                events.append(("order", order.model_dump()))
                marks["order_ms"] = max(marks["order_ms"], order.updated_ms)
            for trade in q.trades_after(engine, marks["trade"]):
                events.append(("trade", trade.model_dump()))
                marks["trade"] = trade.id
            for signal in reversed(q.list_signals(engine, bot_id=None, symbol=None, limit=100,
                                                  after_id=marks["signal"])):
                events.append(("signal", signal.model_dump()))
                marks["signal"] = max(marks["signal"], signal.id)
            changed = q.positions_updated_after(engine, marks["position_ms"])
            if changed:
                marks["position_ms"] = max(int(r["updated_ms"]) for r in changed)
                events.append(("position", {"positions": [p.model_dump() for p in
                                                          q.open_positions(engine)]}))
            newest = q.latest_equity(engine)
            fresh = [p for p in newest.values() if p.time_ms > marks["equity_ms"]]
            if fresh:
                marks["equity_ms"] = max(p.time_ms for p in fresh)
                events.append(("equity", {"bots": {b: p.model_dump() for b, p in newest.items()
                                                   if p in fresh}}))
        status = summary.status(self._container)
        bots = summary.current_bots(self._container)
        events.append(("tick", {
            "status": status.model_dump(),
            "bots": [{"bot_id": b.bot_id, "status": b.status, "equity": b.equity,
                      "unrealized_pnl": b.unrealized_pnl, "last_price": b.last_price,
                      "symbol": b.symbol} for b in bots],
        }))
        return events
