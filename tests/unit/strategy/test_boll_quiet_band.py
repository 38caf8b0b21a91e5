"""BOLL's quiet band (``quiet_low < p < quiet_high``: ``on_price`` does nothing) is
conservative in every phase: a price inside it, evaluated exactly, never acts."""

from __future__ import annotations

import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from binbot.strategy.builtin.boll import ABOVE_UP, BELOW_DN, NORMAL, TIE, Boll
from tests.unit.strategy.conftest import Harness


def acts(up: float, dn: float, phase: str, price: float) -> bool:
    """Whether the exact rule moves the state machine at ``price``."""
    if phase == NORMAL:
        return price > up * (1 + TIE) or price < dn * (1 - TIE)
    if phase == ABOVE_UP:
        return price <= up * (1 + TIE)
    return price >= dn * (1 - TIE)


@settings(max_examples=150, deadline=None)
@given(period=st.integers(min_value=2, max_value=40),
       k=st.floats(min_value=0.5, max_value=4.0),
       ddof=st.integers(min_value=0, max_value=1),
       level=st.floats(min_value=0.001, max_value=50_000),
       spread=st.sampled_from([0.0, 1e-9, 1e-5, 1e-3, 0.05]),
       seed=st.integers(min_value=0, max_value=2**32 - 1),
       phase=st.sampled_from([NORMAL, ABOVE_UP, BELOW_DN]),
       where=st.floats(min_value=0.0, max_value=1.0))
def test_no_price_in_the_quiet_band_acts(period: int, k: float, ddof: int, level: float,
                                         spread: float, seed: int, phase: str,
                                         where: float) -> None:
    assume(ddof < period)
    strategy = Boll({"quantity": "1", "period": period, "k": k, "ddof": ddof})
    h = Harness(strategy)
    state = seed
    closes = []
    for _ in range(period - 1):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        closes.append(round(level * (1 + spread * ((state >> 11) / 2**53 - 0.5)), 8))
    h.close_candles(*closes)
    strategy._phase = phase  # type: ignore[assignment]  # the band of each phase
    strategy._update_zone()
    low, high = strategy.quiet_low, strategy.quiet_high
    if not low < high:
        return  # empty band: every price is evaluated
    # Probe the band's edges (where a loose bound would fail) and a point inside.
    lo = low if math.isfinite(low) else (high - 10 * level if math.isfinite(high) else 0.0)
    hi = high if math.isfinite(high) else lo + 10 * level
    probes = [lo + (hi - lo) * where]
    probes += [math.nextafter(edge, mid) for edge, mid in ((low, math.inf), (high, -math.inf))
               if math.isfinite(edge)]
    for price in probes:
        if not (low < price < high) or price <= 0:
            continue
        _mid, up, dn = strategy._bands.peek(price)
        assert not acts(up, dn, phase, price), (phase, price, up, dn)
