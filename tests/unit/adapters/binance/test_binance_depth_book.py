from __future__ import annotations

from binbot.adapters.binance.depth_book import DepthBook, SyncAction
from binbot.domain.depth import DepthSnapshot
from binbot.domain.market import Market
from binbot.domain.market_events import DepthUpdateEvent

Levels = tuple[tuple[float, float], ...]


def update(
    market: Market, first: int, final: int, prev: int | None = None,
    bids: Levels = (), asks: Levels = (),
) -> DepthUpdateEvent:
    return DepthUpdateEvent(market, "BTCUSDT", final, first, final, prev, bids, asks)


def snapshot(market: Market, last: int) -> DepthSnapshot:
    return DepthSnapshot(market, "BTCUSDT", last, ((100.0, 1.0), (99.0, 2.0)), ((101.0, 1.0),))


def test_spot_sync_drops_old_events_and_applies_the_bridging_one() -> None:
    book = DepthBook(Market.SPOT, "BTCUSDT")
    assert book.on_update(update(Market.SPOT, 95, 100)) is SyncAction.BUFFERED
    assert book.on_update(update(Market.SPOT, 101, 104, bids=((100.0, 0.0),))) is (
        SyncAction.BUFFERED
    )
    assert book.on_update(update(Market.SPOT, 105, 106, asks=((102.0, 3.0),))) is (
        SyncAction.BUFFERED
    )
    assert book.on_snapshot(snapshot(Market.SPOT, 102)) is SyncAction.APPLIED
    assert book.ready
    assert book.last_update_id == 106
    assert book.best_bid() == (99.0, 2.0)  # 100 removed by the bridging event
    assert book.asks == {101.0: 1.0, 102.0: 3.0}
    assert book.on_update(update(Market.SPOT, 105, 106)) is SyncAction.IGNORED
    assert book.on_update(update(Market.SPOT, 107, 107, bids=((99.5, 1.0),))) is (
        SyncAction.APPLIED
    )
    assert book.top(2) == ([(99.5, 1.0), (99.0, 2.0)], [(101.0, 1.0), (102.0, 3.0)])


def test_spot_snapshot_older_than_first_buffered_event_needs_another() -> None:
    book = DepthBook(Market.SPOT, "BTCUSDT")
    book.on_update(update(Market.SPOT, 200, 210))
    assert book.on_snapshot(snapshot(Market.SPOT, 150)) is SyncAction.NEED_SNAPSHOT
    assert not book.ready
    assert book.on_snapshot(snapshot(Market.SPOT, 205)) is SyncAction.APPLIED
    assert book.last_update_id == 210


def test_spot_gap_discards_the_book_and_resyncs() -> None:
    book = DepthBook(Market.SPOT, "BTCUSDT")
    book.on_update(update(Market.SPOT, 10, 20))
    assert book.on_snapshot(snapshot(Market.SPOT, 15)) is SyncAction.APPLIED
    assert book.on_update(update(Market.SPOT, 23, 25)) is SyncAction.NEED_SNAPSHOT  # 21-22 lost
    assert not book.ready
    assert book.bids == {}
    assert book.resyncs == 1
    assert book.on_snapshot(snapshot(Market.SPOT, 24)) is SyncAction.APPLIED
    assert book.last_update_id == 25


def test_snapshot_before_any_event_waits_for_the_stream() -> None:
    book = DepthBook(Market.SPOT, "BTCUSDT")
    assert book.on_snapshot(snapshot(Market.SPOT, 50)) is SyncAction.BUFFERED
    assert book.on_update(update(Market.SPOT, 40, 50)) is SyncAction.BUFFERED  # u <= id: dropped
    assert book.on_update(update(Market.SPOT, 51, 52)) is SyncAction.APPLIED
    assert book.ready
    assert book.last_update_id == 52


def test_spot_first_event_not_bridging_the_snapshot_is_a_gap() -> None:
    book = DepthBook(Market.SPOT, "BTCUSDT")
    assert book.on_snapshot(snapshot(Market.SPOT, 50)) is SyncAction.BUFFERED
    assert book.on_update(update(Market.SPOT, 53, 60)) is SyncAction.NEED_SNAPSHOT
    assert book.on_snapshot(snapshot(Market.SPOT, 55)) is SyncAction.APPLIED


def test_usdm_sync_uses_pu_chain() -> None:
    book = DepthBook(Market.USDM, "BTCUSDT")
    book.on_update(update(Market.USDM, 90, 99, prev=89))
    book.on_update(update(Market.USDM, 100, 110, prev=99, bids=((98.0, 4.0),)))
    book.on_update(update(Market.USDM, 111, 120, prev=110, bids=((99.0, 0.0),)))
    assert book.on_snapshot(snapshot(Market.USDM, 105)) is SyncAction.APPLIED
    assert book.last_update_id == 120
    assert book.bids == {100.0: 1.0, 98.0: 4.0}
    assert book.on_update(update(Market.USDM, 121, 125, prev=120, asks=((103.0, 0.0),))) is (
        SyncAction.APPLIED  # removing an unknown level is normal
    )
    assert book.on_update(update(Market.USDM, 130, 131, prev=128)) is SyncAction.NEED_SNAPSHOT
    assert not book.ready
    assert book.resyncs == 1


def test_usdm_keeps_event_ending_exactly_at_snapshot_id() -> None:
    book = DepthBook(Market.USDM, "BTCUSDT")
    book.on_update(update(Market.USDM, 100, 105, prev=99, asks=((101.0, 7.0),)))
    assert book.on_snapshot(snapshot(Market.USDM, 105)) is SyncAction.APPLIED
    assert book.asks == {101.0: 7.0}
    # A first event that starts after the snapshot id does not bridge it.
    other = DepthBook(Market.USDM, "BTCUSDT")
    other.on_update(update(Market.USDM, 107, 110, prev=106))
    assert other.on_snapshot(snapshot(Market.USDM, 105)) is SyncAction.NEED_SNAPSHOT


def test_gap_inside_the_buffer_restarts_from_the_breaking_event() -> None:
    book = DepthBook(Market.USDM, "BTCUSDT")
    book.on_update(update(Market.USDM, 100, 110, prev=99))
    book.on_update(update(Market.USDM, 115, 120, prev=112))  # pu != 110
    assert book.on_snapshot(snapshot(Market.USDM, 105)) is SyncAction.NEED_SNAPSHOT
    assert book.on_snapshot(snapshot(Market.USDM, 117)) is SyncAction.APPLIED
    assert book.last_update_id == 120
