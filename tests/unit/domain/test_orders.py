"""The order state machine, intents and deterministic client order ids."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from decimal import Decimal

import pytest

from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.domain.orders import (
    TERMINAL,
    TRANSITIONS,
    Order,
    OrderEvent,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    can_transition,
    make_client_order_id,
)

S = OrderStatus


def intent(seq: int = 0, qty: str = "2", kind: OrderType = OrderType.MARKET) -> OrderIntent:
    return OrderIntent(
        bot_id="bot-1", intent_seq=seq, client_order_id=make_client_order_id("bot-1", seq),
        market=Market.USDM, symbol="BTCUSDT", side=OrderSide.BUY, type=kind,
        quantity=Decimal(qty), created_time=1, price=Decimal(100) if kind is OrderType.LIMIT
        else None,
    )


def fill(trade_id: str, qty: str, price: str = "100", cid: str | None = None) -> Fill:
    return Fill(trade_id, cid or make_client_order_id("bot-1", 0), "BTCUSDT", "BUY",
                Decimal(price), Decimal(qty), Decimal("0.01"), "USDT", False, 5)


def test_client_order_id_is_deterministic_short_and_wire_safe() -> None:
    ids = {make_client_order_id("bot-1", seq) for seq in range(1000)}
    assert len(ids) == 1000
    assert make_client_order_id("bot-1", 7) == make_client_order_id("bot-1", 7)
    assert make_client_order_id("bot-1", 7) != make_client_order_id("bot-2", 7)
    for cid in ids:
        assert len(cid) <= 32
        assert re.fullmatch(r"bb-[A-Za-z0-9_-]+", cid)
    with pytest.raises(ValueError, match="was -1"):
        make_client_order_id("bot-1", -1)


def test_client_order_id_is_the_base32_of_the_sha256_of_bot_and_seq() -> None:
    """Ids are persisted: they must stay exactly what they always were (RFC 4648 base32)."""
    assert make_client_order_id("bot-1", 0) == "bb-yr6t2vhrhwffheuzx5ufaydsjx"
    assert make_client_order_id("backtest", 12345) == "bb-b5vdca6dwllsbonkvgkyflb5mx"
    assert make_client_order_id("\u00e9", 3) == "bb-rqk2qinytui2zuar5mhl7lo7nz"
    for bot_id in ("bot-1", "backtest", "a" * 40):
        for seq in range(0, 3000, 7):
            digest = hashlib.sha256(f"{bot_id}\x00{seq}".encode()).digest()
            expected = "bb-" + base64.b32encode(digest).decode("ascii")[:26].lower()
            assert make_client_order_id(bot_id, seq) == expected


def test_intent_validates_and_round_trips() -> None:
    with pytest.raises(ValueError, match="quantity must be positive"):
        intent(qty="0")
    with pytest.raises(ValueError, match="needs a price"):
        OrderIntent("b", 0, "bb-x", Market.SPOT, "X", OrderSide.BUY, OrderType.LIMIT,
                    Decimal(1), 0)
    with pytest.raises(ValueError, match="invalid client order id"):
        OrderIntent("b", 0, "has space", Market.SPOT, "X", OrderSide.BUY, OrderType.MARKET,
                    Decimal(1), 0)
    original = intent(kind=OrderType.LIMIT)
    assert OrderIntent.from_dict(original.to_dict()) == original


def test_happy_path_with_partial_fills() -> None:
    order = Order(intent())
    cid = order.client_order_id
    assert order.apply(OrderEvent(cid, S.SUBMITTED, 1))
    assert order.apply(OrderEvent(cid, S.NEW, 2, exchange_order_id="42"))
    assert order.apply(OrderEvent(cid, S.PARTIALLY_FILLED, 3, fill=fill("t1", "0.5", "100")))
    assert (order.filled_qty, str(order.avg_price)) == (Decimal("0.5"), "100")  # the first fill's
    assert order.apply(OrderEvent(cid, S.PARTIALLY_FILLED, 4, fill=fill("t2", "0.5", "110")))
    assert order.apply(OrderEvent(cid, S.FILLED, 5, fill=fill("t3", "1", "120")))
    assert order.status is S.FILLED
    assert order.filled_qty == Decimal(2)
    assert order.avg_price == Decimal("112.5")  # (0.5*100 + 0.5*110 + 1*120) / 2
    assert order.fees == Decimal("0.03")
    assert order.exchange_order_id == "42"
    assert not order.is_open


def test_submitted_is_the_submitted_event_applied_to_a_new_order() -> None:
    by_event = Order(intent())
    assert by_event.apply(OrderEvent(by_event.client_order_id, S.SUBMITTED, 7))
    direct = Order(intent())
    direct.submitted(7)
    assert direct == by_event
    with pytest.raises(ValueError, match="is SUBMITTED, not INTENT"):
        direct.submitted(8)  # only a new order is being sent
    assert direct.updated_time == 7


def test_backwards_moves_and_duplicate_fills_are_ignored() -> None:
    order = Order(intent())
    cid = order.client_order_id
    order.apply(OrderEvent(cid, S.NEW, 1))
    order.apply(OrderEvent(cid, S.PARTIALLY_FILLED, 2, fill=fill("t1", "1")))
    assert not order.apply(OrderEvent(cid, S.PARTIALLY_FILLED, 3, fill=fill("t1", "1")))
    assert not order.apply(OrderEvent(cid, S.NEW, 4))
    order.apply(OrderEvent(cid, S.FILLED, 5, fill=fill("t2", "1")))
    for late in (S.NEW, S.PARTIALLY_FILLED, S.CANCELED, S.SUBMITTED, S.UNKNOWN):
        assert not order.apply(OrderEvent(cid, late, 6))
    assert order.status is S.FILLED
    assert order.filled_qty == Decimal(2)


def test_unknown_resolves_and_not_sent_can_still_be_adopted() -> None:
    order = Order(intent())
    cid = order.client_order_id
    order.apply(OrderEvent(cid, S.SUBMITTED, 1))
    assert order.apply(OrderEvent(cid, S.UNKNOWN, 2))
    assert order.apply(OrderEvent(cid, S.NOT_SENT, 3))
    assert order.apply(OrderEvent(cid, S.FILLED, 4, fill=fill("t1", "2")))
    assert order.status is S.FILLED


def test_transition_table_shape() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)
    assert {S.FILLED, S.CANCELED, S.EXPIRED, S.REJECTED} == TERMINAL
    assert can_transition(S.PENDING_CANCEL, S.FILLED)  # a fill can win a cancel race
    assert not can_transition(S.NEW, S.SUBMITTED)
    assert not can_transition(S.NEW, S.REJECTED)
    order = Order(intent())
    with pytest.raises(ValueError, match="applied to order"):
        order.apply(OrderEvent("other", S.NEW, 1))


def test_order_round_trips_through_dict() -> None:
    order = Order(intent())
    order.apply(OrderEvent(order.client_order_id, S.NEW, 1, exchange_order_id="9"))
    order.apply(OrderEvent(order.client_order_id, S.PARTIALLY_FILLED, 2, fill=fill("t1", "1")))
    again = Order.from_dict(order.to_dict())
    assert again == order


def test_copy_has_every_field_and_its_own_trade_ids() -> None:
    order = Order(intent())
    order.apply(OrderEvent(order.client_order_id, S.NEW, 1, exchange_order_id="9"))
    order.apply(OrderEvent(order.client_order_id, S.PARTIALLY_FILLED, 2, fill=fill("t1", "1"),
                           reason="partly"))
    seen = order.copy()
    # Every field set away from its default, so a field the copy forgot would differ.
    defaults = Order(intent())
    for f in dataclasses.fields(Order):
        if f.name != "intent":
            assert getattr(order, f.name) != getattr(defaults, f.name), f.name
    assert seen == order
    assert seen.trade_ids is not order.trade_ids
    order.apply(OrderEvent(order.client_order_id, S.FILLED, 3, fill=fill("t2", "1")))
    assert seen.status is S.PARTIALLY_FILLED
    assert seen.trade_ids == {"t1"}
    assert seen.filled_qty == 1
