"""Sans-I/O local order book synchronisation (protocol reference, section 9).

Feed diff events with ``on_update`` and REST snapshots with ``on_snapshot``; each returns what
the caller must do next. Spot continuity is ``U == previous u + 1``; USD-M continuity is
``pu == previous u``. A gap discards the book and asks for a new snapshot.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum

from binbot.domain.depth import DepthSnapshot
from binbot.domain.market import Market
from binbot.domain.market_events import DepthUpdateEvent


class SyncAction(StrEnum):
    BUFFERED = "buffered"  # waiting for a snapshot; keep going
    NEED_SNAPSHOT = "need_snapshot"  # fetch a (new) REST snapshot now
    APPLIED = "applied"  # the book changed and is consistent
    IGNORED = "ignored"  # an old event, already covered by the book


class DepthBook:
    """One symbol's book, synchronised from diff events and snapshots."""

    def __init__(self, market: Market, symbol: str, *, max_buffer: int = 10_000) -> None:
        self.market = market
        self.symbol = symbol
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.last_update_id = 0
        self.ready = False
        self.resyncs = 0
        self._buffer: deque[DepthUpdateEvent] = deque(maxlen=max_buffer)
        self._snapshot: DepthSnapshot | None = None

    # ------------------------------------------------------------------ inputs

    def on_update(self, event: DepthUpdateEvent) -> SyncAction:
        if not self.ready:
            self._buffer.append(event)
            if self._snapshot is not None:
                return self._try_start()
            return SyncAction.BUFFERED
        if event.final_update_id < self.last_update_id or (
            self.market is Market.SPOT and event.final_update_id == self.last_update_id
        ):
            return SyncAction.IGNORED
        if not self._continues(event):
            return self._restart(event)
        self._apply(event)
        return SyncAction.APPLIED

    def on_snapshot(self, snapshot: DepthSnapshot) -> SyncAction:
        """Adopt a REST snapshot; call with ``NEED_SNAPSHOT`` answers until ``APPLIED``."""
        self._snapshot = snapshot
        if self._buffer and snapshot.last_update_id < self._buffer[0].first_update_id:
            # The snapshot is older than everything buffered: events between are missing.
            self._snapshot = None
            return SyncAction.NEED_SNAPSHOT
        return self._try_start()

    # ------------------------------------------------------------------ views

    def best_bid(self) -> tuple[float, float] | None:
        if not self.bids:
            return None
        price = max(self.bids)
        return price, self.bids[price]

    def best_ask(self) -> tuple[float, float] | None:
        if not self.asks:
            return None
        price = min(self.asks)
        return price, self.asks[price]

    def top(self, levels: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        bids = sorted(self.bids.items(), key=lambda level: -level[0])[:levels]
        asks = sorted(self.asks.items())[:levels]
        return bids, asks

    # ------------------------------------------------------------------ rules

    def _stale(self, event: DepthUpdateEvent, snapshot_id: int) -> bool:
        # Spot drops events with u <= lastUpdateId; USD-M drops u < lastUpdateId.
        if self.market is Market.SPOT:
            return event.final_update_id <= snapshot_id
        return event.final_update_id < snapshot_id

    def _bridges(self, event: DepthUpdateEvent, snapshot_id: int) -> bool:
        """Whether the first applied event joins the snapshot without a hole."""
        if self.market is Market.SPOT:
            return event.first_update_id <= snapshot_id + 1 <= event.final_update_id + 1
        return event.first_update_id <= snapshot_id <= event.final_update_id

    def _continues(self, event: DepthUpdateEvent) -> bool:
        if self.market is Market.USDM:
            return event.prev_final_update_id == self.last_update_id
        return event.first_update_id <= self.last_update_id + 1

    def _try_start(self) -> SyncAction:
        snapshot = self._snapshot
        assert snapshot is not None  # noqa: S101 - callers check
        snapshot_id = snapshot.last_update_id
        while self._buffer and self._stale(self._buffer[0], snapshot_id):
            self._buffer.popleft()
        if not self._buffer:
            return SyncAction.BUFFERED  # wait for the first event after the snapshot
        first = self._buffer[0]
        if not self._bridges(first, snapshot_id):
            self._snapshot = None
            self._buffer.clear()
            self._buffer.append(first)
            return SyncAction.NEED_SNAPSHOT
        self._load(snapshot)
        pending, self._buffer = list(self._buffer), deque(maxlen=self._buffer.maxlen)
        self._apply(pending[0])
        for event in pending[1:]:
            if not self._continues(event):
                return self._restart(event)
            self._apply(event)
        return SyncAction.APPLIED

    def _restart(self, event: DepthUpdateEvent) -> SyncAction:
        """A gap: discard the book and buffer from this event on."""
        self.resyncs += 1
        self.ready = False
        self.bids.clear()
        self.asks.clear()
        self._snapshot = None
        self._buffer.clear()
        self._buffer.append(event)
        return SyncAction.NEED_SNAPSHOT

    def _load(self, snapshot: DepthSnapshot) -> None:
        self.bids = {price: qty for price, qty in snapshot.bids if qty > 0}
        self.asks = {price: qty for price, qty in snapshot.asks if qty > 0}
        self.last_update_id = snapshot.last_update_id
        self._snapshot = None
        self.ready = True

    def _apply(self, event: DepthUpdateEvent) -> None:
        for side, levels in ((self.bids, event.bids), (self.asks, event.asks)):
            for price, qty in levels:
                if qty == 0:
                    side.pop(price, None)  # removing an unknown level is normal
                else:
                    side[price] = qty
        self.last_update_id = event.final_update_id
