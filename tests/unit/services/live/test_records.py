"""Journal records: the next intent sequence after journaled ids; fills written once."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.domain.orders import (
    Order,
    OrderIntent,
    OrderSide,
    OrderType,
    make_client_order_id,
)
from binbot.services.live.records import (
    DuplicateIntent,
    insert_intent,
    load_local_state,
    next_intent_seq,
    write_events,
)
from binbot.services.trading_records import fill_row, order_row
from binbot.storage.database import make_engine, sqlite_url
from binbot.storage.migrate import upgrade


def test_next_intent_seq_skips_every_journaled_id_with_gaps() -> None:
    ids = [make_client_order_id("b", s) for s in (3, 4, 9)]
    assert next_intent_seq("b", ids, 3) == 10
    assert next_intent_seq("b", ids, 12) == 12
    assert next_intent_seq("other", ids, 0) == 0


def test_intent_once_and_fills_once(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "j.sqlite"))
    upgrade(engine)
    cid = make_client_order_id("b", 0)
    intent = OrderIntent("b", 0, cid, Market.USDM, "FILUSDT", OrderSide.BUY, OrderType.MARKET,
                         Decimal(10), 1)
    with engine.begin() as c:
        insert_intent(c, order_row(Order(intent), "testnet", 1))
    with pytest.raises(DuplicateIntent), engine.begin() as c:
        insert_intent(c, order_row(Order(intent), "testnet", 2))
    fill = Fill("77", cid, "FILUSDT", "BUY", Decimal(3), Decimal(10), Decimal("0.01"), "USDT",
                False, 5)
    for _ in range(2):
        with engine.begin() as c:
            write_events(c, [], [fill_row("b", fill)])
    state = load_local_state(engine, "b", "FILUSDT")
    assert state.trade_ids == frozenset({"77"})
    assert state.last_trade_id == 77
    assert state.orders[cid].trade_ids == {"77"}
    engine.dispose()
