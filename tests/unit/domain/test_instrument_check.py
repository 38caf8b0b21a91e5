"""``Instrument.check``: the filters Binance applies to an order's quantity and price. A MARKET
order is held to MARKET_LOT_SIZE where each of its fields is set (non-zero), to LOT_SIZE
otherwise; the reason names the first filter that fails, in the order written below."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from binbot.domain.instrument import FilterViolation, Instrument
from binbot.domain.market import Market

D = Decimal


def instrument(*, step: str = "0.1", min_qty: str = "0.1", max_qty: str = "1000",
               market_step: str = "0", market_min: str = "0", market_max: str = "0",
               min_notional: str = "5", market: Market = Market.USDM) -> Instrument:
    return Instrument(market, "FILUSDT", "FIL", "USDT", "TRADING", D("0.001"), D("0.001"),
                      D(10_000), D(step), D(min_qty), D(max_qty), D(market_step),
                      D(market_min), D(market_max), D(min_notional))


def reason(inst: Instrument, price: Decimal, qty: Decimal, *, market_order: bool = False,
           reduce_only: bool = False) -> str:
    try:
        inst.check(price, qty, market_order=market_order, reduce_only=reduce_only)
    except FilterViolation as e:
        return str(e)
    return ""


def expected(inst: Instrument, price: Decimal, qty: Decimal, market_order: bool,
             reduce_only: bool) -> str:
    """The filters as Binance documents them, one field at a time."""
    def pick(market_value: Decimal, value: Decimal) -> Decimal:
        return market_value if market_order and market_value > 0 else value

    low = pick(inst.market_min_qty, inst.min_qty)
    high = pick(inst.market_max_qty, inst.max_qty)
    step = pick(inst.market_step_size, inst.step_size)
    if qty <= 0:
        return f"quantity must be positive, was {qty}"
    if low > 0 and qty < low:
        return f"quantity below minimum {low}, was {qty}"
    if high > 0 and qty > high:
        return f"quantity above maximum {high}, was {qty}"
    if step > 0 and qty % step != 0:
        return f"quantity is not a multiple of the step size, was {qty}"
    if price <= 0:
        return f"price must be positive, was {price}"
    exempt = reduce_only and inst.market is Market.USDM
    if inst.min_notional > 0 and price * qty < inst.min_notional and not exempt:
        return f"notional below minimum {inst.min_notional}, was {price * qty}"
    return ""


def test_a_market_order_takes_market_lot_size_where_it_is_set() -> None:
    inst = instrument(step="0.1", min_qty="0.1", max_qty="1000", market_step="1",
                      market_min="0", market_max="50")
    assert reason(inst, D(5), D("2.5")) == ""  # LOT_SIZE: 0.1 steps
    assert reason(inst, D(5), D("2.5"), market_order=True) == (
        "quantity is not a multiple of the step size, was 2.5")  # MARKET_LOT_SIZE: 1
    assert reason(inst, D(5), D(60), market_order=True) == "quantity above maximum 50, was 60"
    assert reason(inst, D(5), D(60)) == ""
    # MARKET_LOT_SIZE's minimum is 0 (unset): LOT_SIZE's 0.1 applies to market orders too.
    assert reason(inst, D(500), D("0.05"), market_order=True) == (
        "quantity below minimum 0.1, was 0.05")


def test_min_notional_spares_a_usdm_reduce_only_order() -> None:
    inst = instrument()
    assert reason(inst, D(1), D(2)) == "notional below minimum 5, was 2"
    assert reason(inst, D(1), D(2), reduce_only=True) == ""
    spot = instrument(market=Market.SPOT)
    assert reason(spot, D(1), D(2), reduce_only=True) == "notional below minimum 5, was 2"


filter_value = st.sampled_from(["0", "0.001", "0.1", "1", "5"])


@settings(max_examples=500, deadline=None)
@given(step=filter_value, min_qty=filter_value, max_qty=st.sampled_from(["0", "10", "1000"]),
       market_step=filter_value, market_min=filter_value,
       market_max=st.sampled_from(["0", "20", "500"]),
       qty=st.decimals(min_value=D("-1"), max_value=D(2000), places=3),
       price=st.decimals(min_value=D("-1"), max_value=D(100), places=3),
       market_order=st.booleans(), reduce_only=st.booleans())
def test_check_applies_the_filters_as_documented(
        step: str, min_qty: str, max_qty: str, market_step: str, market_min: str,
        market_max: str, qty: Decimal, price: Decimal, market_order: bool,
        reduce_only: bool) -> None:
    inst = instrument(step=step, min_qty=min_qty, max_qty=max_qty, market_step=market_step,
                      market_min=market_min, market_max=market_max)
    assert reason(inst, price, qty, market_order=market_order, reduce_only=reduce_only) == (
        expected(inst, price, qty, market_order, reduce_only))


def test_a_symbol_that_is_not_trading_is_refused_first() -> None:
    inst = instrument()
    halted = dataclasses.replace(inst, status="BREAK")
    with pytest.raises(FilterViolation, match="FILUSDT is not trading, status was BREAK"):
        halted.check(D(5), D(1))
