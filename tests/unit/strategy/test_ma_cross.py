"""MA cross: every rule on constructed closes, parameters, random walks against the
reference (SMA and EMA)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from binbot.domain.market import Market
from binbot.engine import BotCore
from binbot.indicators import sma
from binbot.sim import SimConfig, SimulatedExchange
from binbot.strategy import StrategyParamsError, load_strategy
from binbot.strategy.builtin.ma_cross import MaCross
from tests.unit.strategy import references as ref
from tests.unit.strategy.conftest import Harness, candle, instrument
from tests.unit.strategy.engine_run import random_bars, run

PARAMS = {"fast": 2, "slow": 3, "quantity": "1"}
# fast - slow: NaN, NaN, 0 (flat), > 0 (up), 0 (touch), < 0 (down), > 0 (up), > 0, < 0 (down)
CLOSES = [10.0, 10.0, 10.0, 11.0, 9.0, 8.0, 12.0, 13.0, 9.0]


def feed(h: Harness, closes: list[float]) -> None:
    for close in closes:
        h.price(close)
        h.close_candles(close)


def test_the_walk_crosses_where_expected() -> None:
    c = np.array(CLOSES)
    d = sma(c, 2) - sma(c, 3)
    assert np.isnan(d[1])
    assert d[2] == 0
    assert d[3] > 0
    assert abs(d[4]) < 1e-12
    assert d[5] < 0
    assert d[6] > 0
    assert d[7] > 0
    assert d[8] < 0


def test_crosses_reverse_the_position_and_a_touch_is_no_cross() -> None:
    h = Harness(MaCross(PARAMS))
    feed(h, CLOSES)
    assert h.trades() == [
        ("open_long", 11.0),  # 0 -> up: a cross from a tie counts
        ("close_long", 8.0), ("open_short", 8.0),  # the touch at 9 did nothing; 8 crosses down
        ("close_short", 12.0), ("open_long", 12.0),
        ("close_long", 9.0), ("open_short", 9.0),
    ]


def test_spot_only_exits_on_a_cross_down() -> None:
    h = Harness(MaCross(PARAMS), market=Market.SPOT)
    feed(h, CLOSES)
    assert h.trades() == [("open_long", 11.0), ("close_long", 8.0), ("open_long", 12.0),
                          ("close_long", 9.0)]


def test_shorts_can_be_turned_off_on_futures() -> None:
    h = Harness(MaCross({**PARAMS, "shorts": False}))
    feed(h, CLOSES)
    assert [k for k, _ in h.trades()] == ["open_long", "close_long", "open_long", "close_long"]


def test_a_start_between_crosses_waits_for_the_next_one() -> None:
    inst = instrument()
    sim = SimulatedExchange(inst, SimConfig.standard(Market.USDM, Decimal(10_000)))
    bot = BotCore("late", inst, "15m", MaCross(PARAMS), sim, capital=Decimal(10_000))
    # History before the start: the fast average is already above the slow one.
    bot.load_history([candle(i * 900_000, c) for i, c in enumerate([10.0, 10.0, 10.0, 11.0])])
    bot.start()
    assert bot.strategy.spread_sign == 1  # type: ignore[attr-defined]
    for i, close in ((4, 12.0), (5, 5.0)):
        sim.on_price(i * 900_000, close)
        bot.on_price(i * 900_000, close)
        bot.on_candle_closed(candle(i * 900_000, close))
        if i == 4:
            assert not bot.portfolio.trades  # still above: no cross, no entry
    assert [t.kind.value for t in bot.portfolio.trades] == ["open_short"]


def test_parameters_are_validated_by_name() -> None:
    assert isinstance(load_strategy("ma_cross", {"ma": "ema"}), MaCross)
    p = MaCross().params
    assert (p.fast, p.slow, p.ma) == (10, 30, "sma")
    with pytest.raises(StrategyParamsError, match="fast must be < slow"):
        MaCross({"fast": 30, "slow": 30})
    with pytest.raises(StrategyParamsError, match="'ma'"):
        MaCross({"ma": "wma"})


@pytest.mark.parametrize(("seed", "kind"), [(1, "sma"), (2, "sma"), (3, "ema"), (4, "ema")])
def test_random_walks_match_the_reference(seed: int, kind: str) -> None:
    bars = random_bars(seed, 400)
    params = {"fast": 5, "slow": 20, "ma": kind, "quantity": "1"}
    expected = ref.ma_cross_actions(bars, 5, 20, kind)
    assert len(expected) >= 8
    assert run(MaCross(params), bars).trades() == expected
    spot = run(MaCross(params), random_bars(seed, 400, market=Market.SPOT), market=Market.SPOT)
    assert spot.trades() == ref.ma_cross_actions(bars, 5, 20, kind, shorts=False)
