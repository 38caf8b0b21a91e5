"""Positions from fills: legs, PnL, flips, funding, margin and liquidation price."""

from __future__ import annotations

from decimal import Decimal

import pytest

from binbot.domain.fills import Fill
from binbot.domain.positions import Position, TradeKind

D = Decimal


def fill(side: str, qty: str, price: str, fee: str = "0", trade_id: str = "1") -> Fill:
    return Fill(trade_id, "bb-x", "BTCUSDT", side, D(price), D(qty), D(fee), "USDT", False, 7)


def test_open_add_reduce_close_long() -> None:
    p = Position("BTCUSDT")
    [leg] = p.apply_fill(fill("BUY", "1", "100", "0.1"))
    assert leg.kind is TradeKind.OPEN_LONG
    p.apply_fill(fill("BUY", "1", "110"))
    assert (p.quantity, p.entry_price) == (D(2), D(105))
    [leg] = p.apply_fill(fill("SELL", "1", "115", "0.2"))
    assert (leg.kind, leg.pnl, leg.net_pnl) == (TradeKind.CLOSE_LONG, D(10), D("9.8"))
    [leg] = p.apply_fill(fill("SELL", "1", "95"))
    assert leg.pnl == D(-10)
    assert (p.quantity, p.entry_price, p.side) == (D(0), D(0), "flat")
    assert (p.realised_pnl, p.fees) == (D(0), D("0.3"))


def test_flip_splits_the_fill_and_its_fee() -> None:
    p = Position("BTCUSDT")
    p.apply_fill(fill("SELL", "1", "100"))
    close, reopen = p.apply_fill(fill("BUY", "3", "90", "0.3"))
    assert (close.kind, close.quantity, close.pnl, close.fee) == (
        TradeKind.CLOSE_SHORT, D(1), D(10), D("0.1"))
    assert (reopen.kind, reopen.quantity, reopen.fee) == (TradeKind.OPEN_LONG, D(2), D("0.2"))
    assert (p.quantity, p.entry_price) == (D(2), D(90))


def test_unrealised_margin_funding_and_liquidation() -> None:
    p = Position("BTCUSDT")
    p.apply_fill(fill("BUY", "2", "100"))
    assert p.unrealised_pnl(D(110)) == D(20)
    assert p.margin(10) == D(20)
    assert p.apply_funding(D(100), D("0.0001")) == D("-0.02")  # longs pay a positive rate
    liq = p.liquidation_price(10, D("0.004"))
    assert liq == pytest.approx(D(100) * D("0.9") / D("0.996"))
    assert p.liquidation_price(1, D("0.004")) == 0  # a 1x long cannot be liquidated
    short = Position("BTCUSDT")
    short.apply_fill(fill("SELL", "1", "100"))
    assert short.liquidation_price(10, D("0.004")) == D(100) * D("1.1") / D("1.004")
    assert Position("X").liquidation_price(10) is None


def test_position_round_trips() -> None:
    p = Position("BTCUSDT")
    p.apply_fill(fill("BUY", "2", "100", "0.5"))
    assert Position.from_dict(p.to_dict()) == p
