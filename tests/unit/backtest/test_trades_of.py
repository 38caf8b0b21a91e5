"""``trades_of`` builds its ``Trade`` objects through the slot descriptors: they must be the
very ones the constructor makes."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from binbot.backtest.ledger import Trade, trades_of
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


def test_trades_equal_the_constructors() -> None:
    made = trades_of(legs())
    expected = [Trade(leg.time, leg.kind.value, float(leg.price), float(leg.quantity),
                      float(leg.fee), float(leg.pnl)) for leg in legs()]
    assert [t.action for t in made] == ["open_long", "close_long", "open_short", "close_short",
                                        "open_long"]
    assert made == expected
    assert [hash(t) for t in made] == [hash(t) for t in expected]
    for m, e in zip(made, expected, strict=True):
        for f in dataclasses.fields(Trade):
            assert type(getattr(m, f.name)) is type(getattr(e, f.name))
    assert made[1].to_dict() == expected[1].to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        made[0].price = 1.0  # type: ignore[misc]
