"""Positions from fills: legs, PnL, flips, funding, margin and liquidation price."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from binbot.domain.fills import Fill
from binbot.domain.positions import (
    Position,
    TradeKind,
    isolated_liquidation_price,
    liquidation_terms,
)

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


def _reference_apply(p: Position, f: Fill) -> list[tuple[TradeKind, Decimal, Decimal, Decimal]]:
    """The position rules written plainly: ``(kind, quantity, fee, pnl)`` of each leg."""
    signed = f.quantity if f.side == "BUY" else -f.quantity
    p.fees += f.fee
    if p.quantity == 0 or (p.quantity > 0) == (signed > 0):
        total = p.quantity + signed
        p.entry_price = (abs(p.quantity) * p.entry_price + f.quantity * f.price) / abs(total)
        p.quantity = total
        return [(TradeKind.OPEN_LONG if signed > 0 else TradeKind.OPEN_SHORT, f.quantity, f.fee,
                 D(0))]
    closing = min(abs(p.quantity), f.quantity)
    long = p.quantity > 0
    pnl = (f.price - p.entry_price) * closing * (1 if long else -1)
    p.realised_pnl += pnl
    close_fee = f.fee * closing / f.quantity
    legs = [(TradeKind.CLOSE_LONG if long else TradeKind.CLOSE_SHORT, closing, close_fee, pnl)]
    p.quantity += signed
    if p.quantity == 0:
        p.entry_price = D(0)
    elif f.quantity > closing:
        p.entry_price = f.price
        legs.append((TradeKind.OPEN_LONG if signed > 0 else TradeKind.OPEN_SHORT,
                     f.quantity - closing, f.fee - close_fee, D(0)))
    return legs


_fills = st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]),
                            st.integers(1, 500).map(lambda n: D(n) / 10),
                            st.integers(1, 99_999).map(lambda n: D(n) / 1000),
                            st.integers(0, 999).map(lambda n: D(n) / 10_000)),
                  min_size=1, max_size=30)


@given(_fills)
def test_apply_fill_and_book_follow_the_plain_rules(rows: list[tuple[str, Decimal, Decimal,
                                                                    Decimal]]) -> None:
    """``apply_fill`` (legs) and ``book`` (no legs, for the simulated account) move the
    position exactly as the plain rules do: the same numbers, digit for digit."""
    reference, legs_position, booked = (Position("X") for _ in range(3))
    for n, (side, qty, price, fee) in enumerate(rows):
        f = Fill(str(n), "bb-x", "X", side, price, qty, fee, "USDT", False, n)
        expected = _reference_apply(reference, f)
        legs = legs_position.apply_fill(f)
        closed, pnl, close_fee = booked.book(f)
        assert [(leg.kind, str(leg.quantity), str(leg.fee), str(leg.pnl)) for leg in legs] == [
            (kind, str(q), str(fe), str(pn)) for kind, q, fe, pn in expected]
        closes = [leg for leg in legs if leg.kind in (TradeKind.CLOSE_LONG,
                                                      TradeKind.CLOSE_SHORT)]
        if closes:
            assert (str(closed), str(pnl), str(close_fee)) == (
                str(closes[0].quantity), str(closes[0].pnl), str(closes[0].fee))
        else:
            assert (closed, pnl, close_fee) == (None, 0, 0)
        for position in (legs_position, booked):
            assert position.to_dict() == reference.to_dict()


@settings(max_examples=300, deadline=None)
@given(quantity=st.decimals(min_value=D("-1000"), max_value=D(1000), places=3),
       entry=st.decimals(min_value=D("0.0001"), max_value=D(100_000), places=4),
       leverage=st.integers(min_value=1, max_value=125),
       rate=st.sampled_from([D("0.004"), D("0.005"), D("0.0125"), D("0.1")]))
def test_liquidation_price_from_precomputed_terms_is_the_formula(
        quantity: Decimal, entry: Decimal, leverage: int, rate: Decimal) -> None:
    # The formula as written out (the simulated account computes its terms once).
    expected = (None if quantity == 0
                else max(D(0), entry * (1 - D(1) / leverage) / (1 - rate)) if quantity > 0
                else entry * (1 + D(1) / leverage) / (1 + rate))
    terms = liquidation_terms(leverage, rate)
    got = isolated_liquidation_price(quantity, entry, terms)
    assert got == expected and str(got) == str(expected)  # the same digits, not just value
    position = Position("X", quantity=quantity, entry_price=entry)
    assert position.liquidation_price(leverage, rate) == got
