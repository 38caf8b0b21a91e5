"""``SimAccount.refusal`` books the fill on a probe position (``Position.book``, no legs), or,
from flat, takes the margin of the fill alone; it must agree, result and message, with applying
the fill to a copy of the position (the definition)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.domain.positions import Position
from binbot.sim import SimConfig
from binbot.sim.account import SimAccount

D = Decimal


def reference(account: SimAccount, fill: Fill, leverage: int) -> str:
    """The margin check as defined: apply the fill to a copy of the position."""
    before = account.position.quantity
    trial = replace(account.position)
    legs = trial.apply_fill(fill)
    after = trial.quantity
    if abs(after) <= abs(before) and (after == 0 or (after > 0) == (before > 0)):
        return ""
    wallet = account.balance + sum((leg.pnl for leg in legs), D(0)) - fill.fee
    need = trial.margin(leverage)
    if wallet < need:
        return f"margin is insufficient: need {need}, wallet would be {wallet}"
    return ""


quantities = st.decimals(min_value=D("0.001"), max_value=D(500), places=3)
prices = st.decimals(min_value=D("0.1"), max_value=D(2000), places=1)


@settings(max_examples=400, deadline=None)
@given(held=st.one_of(st.just(D(0)), quantities, quantities.map(lambda q: -q)),
       entry=prices, balance=st.decimals(min_value=D(0), max_value=D(100_000), places=2),
       side=st.sampled_from(["BUY", "SELL"]), qty=quantities, price=prices,
       fee=st.decimals(min_value=D(0), max_value=D(50), places=8),
       leverage=st.integers(min_value=1, max_value=125))
def test_refusal_equals_the_trial_position(held: Decimal, entry: Decimal, balance: Decimal,
                                            side: str, qty: Decimal, price: Decimal,
                                            fee: Decimal, leverage: int) -> None:
    account = SimAccount(SimConfig.standard(Market.USDM, balance, leverage), "BTCUSDT")
    account.position = Position("BTCUSDT", quantity=held,
                                entry_price=entry if held else D(0), realised_pnl=D("1.5"))
    fill = Fill("1", "c", "BTCUSDT", side, price, qty, fee, "USDT", False, 0)
    assert account.refusal(fill) == reference(account, fill, leverage)
    assert account.position.quantity == held  # nothing applied
