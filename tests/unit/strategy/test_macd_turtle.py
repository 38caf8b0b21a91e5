"""MACD + turtle: each rule against the reference on random walks, the stop, the unit sizing
with the leverage rule, refused entries, spot, restarts and parameters."""

from __future__ import annotations

import json
import math
from collections import Counter
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest

from binbot.domain.market import Market
from binbot.engine import BotCore, RiskLimits
from binbot.engine.events import BotEvent, OrderUpdated, RiskRejected
from binbot.sim import SimConfig, SimulatedExchange
from binbot.strategy import StrategyParamsError, load_strategy
from binbot.strategy.builtin.macd_turtle import MacdTurtle
from tests.unit.strategy import references as ref
from tests.unit.strategy.conftest import instrument
from tests.unit.strategy.engine_run import random_bars, run

SMALL: dict[str, Any] = {"fast": 3, "slow": 6, "signal": 3, "ma_periods": (3, 5, 8, 13),
                         "atr_period": 5}
STEP = Decimal("0.001")


def floor_qty(x: float) -> float:
    return float((Decimal(repr(x)) / STEP).to_integral_value(ROUND_DOWN) * STEP)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_random_walks_match_the_reference(seed: int) -> None:
    bars = random_bars(seed, 600)
    result = run(MacdTurtle({"unit_quantity": "1", **SMALL}), bars)
    expected = ref.turtle_actions(bars, Decimal(1), **SMALL)
    assert len(expected) > 100
    assert result.fills() == expected


def test_every_rule_fires_on_the_random_walks() -> None:
    tags: Counter[str] = Counter()
    sides: Counter[tuple[str, str]] = Counter()
    for seed in range(6):
        for _, tag, side, quantity, _ in ref.turtle_actions(random_bars(seed, 600), Decimal(1),
                                                            **SMALL):
            tags[tag] += 1
            sides[(tag, side)] += 1
            if tag in ("trial", "entry", "top_up"):
                assert quantity == {"trial": 0.5, "entry": 2.0, "top_up": 1.5}[tag]
    assert set(tags) == {"trial", "entry", "top_up", "pyramid", "stop", "cross_exit"}
    assert sides[("entry", "BUY")]
    assert sides[("entry", "SELL")]
    assert sides[("trial", "BUY")]
    assert sides[("trial", "SELL")]
    assert sides[("stop", "BUY")]
    assert sides[("stop", "SELL")]


class Feed:
    """A bot fed bar by bar, by hand."""

    def __init__(self, params: dict[str, Any], market: Market = Market.USDM,
                 capital: Decimal = Decimal(10_000), leverage: int = 1,
                 risk: RiskLimits | None = None, saved: dict[str, Any] | None = None) -> None:
        self.inst = instrument(market)
        self.sim = SimulatedExchange(self.inst, SimConfig.standard(market, capital, leverage))
        self.events: list[BotEvent] = []
        self.strategy = MacdTurtle(params)
        self.bot = BotCore("t", self.inst, "15m", self.strategy, self.sim, capital=capital,
                           leverage=leverage, risk_limits=risk, events=self.events.append,
                           max_trades=None)
        if saved is not None:
            self.sim.restore(saved["sim"])
            self.bot.restore(saved["bot"])
        self.bot.start()

    def price(self, time_ms: int, price: float) -> None:
        self.sim.on_price(time_ms, price)
        self.bot.on_price(time_ms, price)

    def bar(self, bar: Any, ticks: list[tuple[int, float]]) -> None:
        for t, p in ticks:
            self.price(t, p)
        self.bot.on_candle_closed(bar)

    def filled(self) -> list[Any]:
        return [e.order for e in self.events
                if isinstance(e, OrderUpdated) and e.order.status.value == "FILLED"]


def first_entry(feed: Feed, bars: list[Any]) -> int:
    """Feed bars until the strategy opens a trade; return the index of that bar."""
    for i, (bar, ticks) in enumerate(bars):
        feed.bar(bar, ticks)
        if feed.strategy.direction:
            return i
    raise AssertionError("no entry")


def test_the_stop_sits_two_atr_from_the_last_entry_and_a_touch_exits() -> None:
    for seed in (1, 2):  # one long, one short
        bars = random_bars(seed, 600)
        feed = Feed({"unit_quantity": "1", **SMALL})
        i = first_entry(feed, bars)
        s = feed.strategy
        close = bars[i][0].close
        assert s.last_entry == close
        assert s.entry_atr == s.atr
        assert s.stop == close - s.direction * 2.0 * s.atr
        held = len(feed.bot.portfolio.trades)
        t = bars[i][1][-1][0] + 1
        feed.price(t, s.stop + s.direction * 0.01)  # a cent short of the stop: nothing
        assert len(feed.bot.portfolio.trades) == held
        through = (math.floor if s.direction > 0 else math.ceil)(s.stop * 100) / 100
        feed.price(t + 1, through)
        last = feed.bot.portfolio.trades[-1]
        assert last.kind.value.startswith("close")
        assert float(last.price) == through
        assert feed.bot.position.is_flat
        assert s.direction == 0
        assert math.isnan(s.stop)


@pytest.mark.parametrize(("risk_per_trade", "binding"), [(0.0001, "risk"), (0.01, "leverage")])
def test_the_unit_is_risk_over_atr_capped_by_the_leverage_rule(risk_per_trade: float,
                                                                binding: str) -> None:
    bars = random_bars(2, 600)
    feed = Feed({"risk_per_trade": risk_per_trade, **SMALL}, capital=Decimal(10_000),
                leverage=2)
    i = first_entry(feed, bars)
    s = feed.strategy
    equity, atr, price = 10_000.0, s.atr, bars[i][0].close  # flat until now: equity = capital
    by_risk = equity * risk_per_trade / atr
    by_leverage = equity * 2 * 0.95 / (4.0 * price)
    assert (by_risk < by_leverage) == (binding == "risk")
    assert s.unit == min(by_risk, by_leverage)
    [order] = feed.filled()
    units = 0.5 if order.intent.tag == "trial" else 2.0
    assert float(order.filled_qty) == floor_qty(units * s.unit)


class Recording(MacdTurtle):
    """Records what each order was meant to be: (tag, units, quantity asked, unit)."""

    asked: list[tuple[str, float, float, float]]

    def _submit(self, units: float, quantity: float, atr: float, tag: str) -> None:
        self.asked.append((tag, units, quantity, self.unit))
        super()._submit(units, quantity, atr, tag)


def test_adds_are_cut_to_what_the_leverage_allows() -> None:
    cut = 0
    for seed in range(4):
        strategy = Recording(SMALL)
        strategy.asked = []
        result = run(strategy, random_bars(seed, 600), capital=Decimal(10_000))
        statuses = {e.order.status.value for e in result.events if isinstance(e, OrderUpdated)}
        assert not statuses & {"REJECTED", "EXPIRED"}  # never more than the account allows
        cut += sum(1 for tag, units, quantity, unit in strategy.asked
                   if tag == "pyramid" and quantity < units * unit)
        assert len(result.bot.portfolio.trades) > 50
    assert cut > 0


def test_a_refused_entry_is_forgotten() -> None:
    bars = random_bars(1, 300)
    feed = Feed({"unit_quantity": "1", **SMALL},
                risk=RiskLimits(max_position_share=Decimal("0.0001")))
    for bar, ticks in bars:
        feed.bar(bar, ticks)
    rejected = [e for e in feed.events if isinstance(e, RiskRejected)]
    assert len(rejected) > 5
    assert {e.rule for e in rejected} == {"max_position"}
    assert feed.strategy.direction == 0
    assert feed.strategy.units == 0
    assert not feed.bot.portfolio.trades


def test_spot_is_long_only() -> None:
    bars = random_bars(4, 600, market=Market.SPOT)
    result = run(MacdTurtle({"unit_quantity": "1", **SMALL}), bars, market=Market.SPOT)
    expected = ref.turtle_actions(bars, Decimal(1), shorts=False, **SMALL)
    assert result.fills() == expected
    assert {side for _, tag, side, _, _ in expected if tag in ("trial", "entry")} == {"BUY"}


def test_a_risk_exit_is_followed() -> None:
    bars = random_bars(5, 600)
    feed = Feed({"unit_quantity": "1", **SMALL}, risk=RiskLimits(stop_loss_pct=0.5))
    for bar, ticks in bars:
        feed.bar(bar, ticks)
    tags = Counter(o.intent.tag for o in feed.filled())
    assert tags["risk:stop_loss"] > 0
    # After every risk exit the strategy started over: never an add to a position it lost.
    position = Decimal(0)
    for o in feed.filled():
        if o.intent.tag in ("top_up", "pyramid"):
            assert position != 0
        position += (1 if o.intent.side.value == "BUY" else -1) * o.filled_qty


def test_a_restart_resumes_the_trade_exactly() -> None:
    bars = random_bars(0, 600)
    params = {"unit_quantity": "1", **SMALL}
    whole = Feed(params)
    for bar, ticks in bars:
        whole.bar(bar, ticks)
    first = Feed(params)
    for bar, ticks in bars[:300]:
        first.bar(bar, ticks)
    cut = 300
    while first.strategy.direction == 0 or not first.strategy.confirmed:
        first.bar(*bars[cut])  # cut in the middle of a confirmed trade
        cut += 1
    saved = json.loads(json.dumps({"bot": first.bot.snapshot(), "sim": first.sim.snapshot()}))
    second = Feed(params, saved=saved)
    assert second.strategy.stop == first.strategy.stop
    for bar, ticks in bars[cut:]:
        second.bar(bar, ticks)
    assert list(second.bot.portfolio.trades) == list(whole.bot.portfolio.trades)


def test_parameters_are_validated_by_name() -> None:
    s = load_strategy("macd_turtle")
    assert isinstance(s, MacdTurtle)
    p = s.params
    assert p.ma_periods == (7, 20, 60, 120)
    assert (p.trial_units, p.signal_units, p.max_units, p.stop_atr) == (0.5, 1.5, 4.0, 2.0)
    with pytest.raises(StrategyParamsError, match="strictly increasing"):
        MacdTurtle({"ma_periods": [20, 7, 60, 120]})
    with pytest.raises(StrategyParamsError, match="fast must be < slow"):
        MacdTurtle({"fast": 26, "slow": 12})
    with pytest.raises(StrategyParamsError, match="max_units"):
        MacdTurtle({"max_units": 1})
    with pytest.raises(StrategyParamsError, match="'risk_per_trade'"):
        MacdTurtle({"risk_per_trade": 0})


def test_a_refused_top_up_leaves_the_trial_unconfirmed() -> None:
    # Room for a trial (0.5 x 1 x ~100) but not for two units: every top-up is refused, so no
    # trade is ever confirmed and nothing is pyramided.
    bars = random_bars(3, 600)
    feed = Feed({"unit_quantity": "1", **SMALL},
                risk=RiskLimits(max_position_share=Decimal("0.01")))
    for bar, ticks in bars:
        feed.bar(bar, ticks)
    refused = Counter(e.intent.tag for e in feed.events if isinstance(e, RiskRejected))
    filled = Counter(o.intent.tag for o in feed.filled())
    assert refused["top_up"] > 0
    assert refused["entry"] > 0
    assert filled["trial"] > 0
    assert filled["top_up"] == filled["entry"] == filled["pyramid"] == 0
