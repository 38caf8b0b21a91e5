"""``trade_lists``: one ``Trade`` per position leg, the round trips and the time in a position,
with the values worked out by hand."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from binbot.backtest.ledger import trade_lists
from binbot.domain.fills import Fill
from binbot.domain.positions import Position, TradeRecord

D = Decimal


def legs() -> list[TradeRecord]:
    position = Position("FILUSDT")
    out: list[TradeRecord] = []
    fills = [("BUY", "5.123", "100"), ("SELL", "5.2", "250"), ("BUY", "4.9", "150"),
             ("BUY", "5.0", "0.5")]
    for i, (side, price, qty) in enumerate(fills):
        fee = (D(price) * D(qty) * D("0.0005")).quantize(D("1e-8"))
        out += position.apply_fill(Fill(str(i), f"c{i}", "FILUSDT", side, D(price), D(qty),
                                        fee, "USDT", False, 1000 * i))
    return out


def test_one_trade_per_leg_with_hand_computed_values() -> None:
    made, trips, spans = trade_lists(legs(), 9000)
    # BUY 100 @ 5.123 opens; SELL 250 @ 5.2 closes the 100 (+7.7) and opens 150 short, its
    # 0.65 fee split 100:150; BUY 150 @ 4.9 closes the short (+45); BUY 0.5 @ 5.0 opens.
    assert [t.to_dict() for t in made] == [
        {"time_ms": 0, "action": "open_long", "price": 5.123, "qty": 100.0, "fee": 0.25615,
         "pnl": 0.0},
        {"time_ms": 1000, "action": "close_long", "price": 5.2, "qty": 100.0, "fee": 0.26,
         "pnl": 7.7},
        {"time_ms": 1000, "action": "open_short", "price": 5.2, "qty": 150.0, "fee": 0.39,
         "pnl": 0.0},
        {"time_ms": 2000, "action": "close_short", "price": 4.9, "qty": 150.0, "fee": 0.3675,
         "pnl": 45.0},
        {"time_ms": 3000, "action": "open_long", "price": 5.0, "qty": 0.5, "fee": 0.00125,
         "pnl": 0.0},
    ]
    assert all(type(t.action) is str for t in made)  # the plain value, not the enum
    with pytest.raises(dataclasses.FrozenInstanceError):
        made[0].price = 1.0  # type: ignore[misc]
    # Round trips net of all fees: the long's 7.7 less its 0.26 and the entry's 0.25615; the
    # short's 45 less its 0.3675 and its share of the flip's fee, 0.39. The last long is open.
    assert [(t.entry_time_ms, t.exit_time_ms) for t in trips] == [(0, 1000), (1000, 2000)]
    assert [t.pnl for t in trips] == pytest.approx([7.7 - 0.26 - 0.25615, 45 - 0.3675 - 0.39])
    assert [t.fees for t in trips] == pytest.approx([0.26 + 0.25615, 0.3675 + 0.39])
    assert spans == [(0, 1000), (1000, 2000), (3000, 9000)]


def test_a_position_added_to_then_closed_in_two_parts() -> None:
    position = Position("FILUSDT")
    legs: list[TradeRecord] = []
    for i, (side, price, qty, fee) in enumerate([("BUY", "5", "100", "0.25"),
                                                  ("BUY", "6", "100", "0.3"),
                                                  ("SELL", "7", "50", "0.175"),
                                                  ("SELL", "4", "150", "0.3")]):
        legs += position.apply_fill(Fill(str(i), f"c{i}", "FILUSDT", side, D(price), D(qty),
                                         D(fee), "USDT", False, 1000 * i))
    made, trips, spans = trade_lists(legs, 9000)
    assert [t.action for t in made] == ["open_long", "open_long", "close_long", "close_long"]
    assert [t.pnl for t in made] == [0.0, 0.0, 75.0, -225.0]  # entry 5.5: +1.5 x 50, -1.5 x 150
    # Each close carries the share of the 0.55 entry fees of the quantity it closes: 50/200
    # (0.1375), then the 0.4125 left; both round trips entered at the first open.
    assert [(t.entry_time_ms, t.exit_time_ms) for t in trips] == [(0, 2000), (0, 3000)]
    # (Worked out in Decimal, then converted once: exact here.)
    assert [t.pnl for t in trips] == [74.6875, -225.7125]  # 75 - 0.175 - 0.1375, ...
    assert [t.fees for t in trips] == [0.3125, 0.7125]  # 0.175 + 0.1375, 0.3 + 0.4125
    assert spans == [(0, 3000)]
