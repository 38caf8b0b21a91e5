"""BOLL walked through every transition of DESIGN.md "The BOLL strategy, exactly"."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pytest

from binbot.domain.market import Market
from binbot.strategy import StrategyParamsError, load_strategy
from binbot.strategy.builtin.boll import ABOVE_UP, BELOW_DN, NORMAL, Boll

# 19 closed values around 100 (spread ~1): the window's mean is near 100, so 100 is well inside
# the bands, 110 far above UP and 90 far below DN whatever the forming price does to the std.
TAIL = [99.0, 101.0] * 9 + [100.0]
INSIDE, ABOVE, BELOW = 100.0, 110.0, 90.0


def bands(closed: list[float], price: float, k: float = 2.0, ddof: int = 0) -> tuple[float, float]:
    window = np.array([*closed, price])
    mid = float(np.mean(window))
    std = float(np.std(window, ddof=ddof))
    return mid + k * std, mid - k * std


def test_tail_prices_are_where_the_walk_needs_them() -> None:
    up, dn = bands(TAIL, ABOVE)
    assert ABOVE > up
    up, dn = bands(TAIL, BELOW)
    assert BELOW < dn
    up, dn = bands(TAIL, INSIDE)
    assert dn < INSIDE < up


def test_futures_walk_covers_every_transition(harness: Callable[..., object]) -> None:
    h = harness(Boll({"quantity": "1"}))
    h.close_candles(*TAIL)
    s = h.strategy
    h.price(INSIDE)
    assert (s.phase, s.intended_position, h.trades()) == (NORMAL, "flat", [])
    h.price(ABOVE)  # normal -> above_up, nothing held
    assert (s.phase, h.trades()) == (ABOVE_UP, [])
    h.price(ABOVE + 1)  # still above: stays
    assert s.phase == ABOVE_UP
    h.price(INSIDE)  # above_up -> falls back: open short
    assert (s.phase, s.intended_position) == (NORMAL, "short")
    assert h.trades() == [("open_short", INSIDE)]
    h.price(ABOVE)  # short held, breaks out up: stop loss
    assert (s.phase, s.intended_position) == (ABOVE_UP, "flat")
    assert h.trades()[-1] == ("close_short", ABOVE)
    h.price(INSIDE)  # re-entry after the stop loss
    assert h.trades()[-1] == ("open_short", INSIDE)
    h.price(BELOW)  # short held, breaks down: no stop (it is winning), phase below_dn
    assert (s.phase, s.intended_position) == (BELOW_DN, "short")
    assert len(h.trades()) == 3
    h.price(INSIDE)  # rebound: take profit on the short and reverse to long
    assert h.trades()[-2:] == [("close_short", INSIDE), ("open_long", INSIDE)]
    assert (s.phase, s.intended_position) == (NORMAL, "long")
    h.price(BELOW)  # long held, breaks down: stop loss
    assert h.trades()[-1] == ("close_long", BELOW)
    assert (s.phase, s.intended_position) == (BELOW_DN, "flat")
    h.price(INSIDE)
    assert h.trades()[-1] == ("open_long", INSIDE)
    h.price(ABOVE)  # long held, breaks out up: phase above_up, no order
    assert (s.phase, len(h.trades())) == (ABOVE_UP, 7)
    h.price(INSIDE)  # falls back: take profit on the long and reverse to short
    assert h.trades()[-2:] == [("close_long", INSIDE), ("open_short", INSIDE)]
    position = h.bot.position
    assert position.side == "short"
    assert position.quantity == Decimal(-1)
    short_pnl = (Decimal(INSIDE) - Decimal(ABOVE))  # the stopped-out short
    assert h.bot.portfolio.trades[1].pnl == short_pnl


def test_spot_skips_the_short_legs(harness: Callable[..., object]) -> None:
    h = harness(Boll({"quantity": "1"}), market=Market.SPOT)
    h.close_candles(*TAIL)
    s = h.strategy
    h.price(ABOVE)
    h.price(INSIDE)  # would open a short on futures
    assert (s.phase, s.intended_position, h.trades()) == (NORMAL, "flat", [])
    h.price(BELOW)
    h.price(INSIDE)
    assert h.trades() == [("open_long", INSIDE)]
    h.price(ABOVE)
    h.price(INSIDE)  # take profit, no reversal
    assert h.trades() == [("open_long", INSIDE), ("close_long", INSIDE)]
    assert (s.phase, s.intended_position) == (NORMAL, "flat")
    h.price(BELOW)
    h.price(INSIDE)
    h.price(BELOW)  # stop loss of a spot long
    assert h.trades()[-1] == ("close_long", BELOW)
    assert h.bot.position.quantity == 0


def test_first_evaluation_needs_period_minus_one_closed_candles(
    harness: Callable[..., object],
) -> None:
    h = harness(Boll({"quantity": "1"}))
    h.close_candles(*TAIL[:-1])  # 18 of the 19
    h.price(ABOVE * 10)
    assert h.strategy.phase == NORMAL
    assert math.isnan(h.strategy.bands[1])
    h.close_candles(TAIL[-1])  # 19 closed + the forming one = period
    h.price(ABOVE)
    assert h.strategy.phase == ABOVE_UP
    up, _dn = bands(TAIL, ABOVE)
    assert h.strategy.bands[1] == pytest.approx(up, rel=1e-12)


def test_price_exactly_on_a_flat_band_is_inside(harness: Callable[..., object]) -> None:
    h = harness(Boll({"quantity": "1"}))
    h.close_candles(*([100.0] * 19))
    h.price(100.0)  # std 0: UP = DN = 100 = price, on both bands
    assert h.strategy.phase == NORMAL
    h.price(100.0 * (1 + 1e-12))  # above UP by far less than 1e-9 relative
    assert h.strategy.phase == NORMAL
    h.price(100.0 * (1 - 1e-12))
    assert h.strategy.phase == NORMAL
    h.price(100.01)  # a real breakout
    assert h.strategy.phase == ABOVE_UP


def _touch_price(tail: list[float], k: float = 2.0) -> float:
    """The price p with p == UP(p) exactly (closed form, see boll.py's docstring)."""
    n = len(tail) + 1
    a = sum(tail) / len(tail)
    m2 = sum((x - a) ** 2 for x in tail)
    w = (n - 1) / n
    c = w * (w - k * k / n)
    return a + math.sqrt(k * k * m2 / (n * c))


def test_tie_rule_is_relative_one_e_minus_nine(harness: Callable[..., object]) -> None:
    touch = _touch_price(TAIL)
    up, _ = bands(TAIL, touch)
    assert touch == pytest.approx(up, rel=1e-13)
    for inside in (touch, touch * (1 + 2e-10)):
        h = harness(Boll({"quantity": "1"}))
        h.close_candles(*TAIL)
        h.price(inside)
        assert h.strategy.phase == NORMAL, inside
    h = harness(Boll({"quantity": "1"}))
    h.close_candles(*TAIL)
    h.price(touch * (1 + 1e-8))
    assert h.strategy.phase == ABOVE_UP
    # falling back: a price on the band (within 1e-9) counts as back inside
    h.price(touch * (1 + 2e-10))
    assert h.strategy.phase == NORMAL
    assert h.trades() == [("open_short", touch * (1 + 2e-10))]


def test_rejected_entry_resyncs_the_position(harness: Callable[..., object]) -> None:
    h = harness(Boll({"quantity": "100000"}), capital=Decimal(1000))  # far beyond the margin
    h.close_candles(*TAIL)
    h.price(ABOVE)
    h.price(INSIDE)
    assert h.trades() == []
    assert h.strategy.intended_position == "flat"
    assert h.bot.recent_orders[-1].status == "REJECTED"


def test_state_round_trips_through_save_and_restore() -> None:
    s = Boll()
    s._phase = ABOVE_UP
    s._position = -1
    s.state["note"] = "kept"
    saved = s.save_state()
    other = Boll()
    other.restore_state(saved)
    assert (other.phase, other.intended_position, other.state["note"]) == (ABOVE_UP, "short",
                                                                           "kept")
    with pytest.raises(ValueError, match="bad BOLL state"):
        other.restore_state({"phase": "sideways"})


def test_params_are_validated_with_the_parameter_named() -> None:
    with pytest.raises(StrategyParamsError, match=r"'period'.*was 1"):
        Boll({"period": 1})
    with pytest.raises(StrategyParamsError, match="unknown parameter 'perod'"):
        Boll({"perod": 20})
    with pytest.raises(StrategyParamsError, match="not both"):
        Boll({"quantity": 1, "quote_amount": 10})
    with pytest.raises(StrategyParamsError, match="ddof must be < period"):
        Boll({"period": 3, "ddof": 3})
    boll = load_strategy("boll", {"price_source": "book mid", "k": 2.5})
    assert isinstance(boll, Boll)
    assert boll.price_source == "book_mid"
    assert boll.params.k == 2.5
    assert boll.params.period == 20
