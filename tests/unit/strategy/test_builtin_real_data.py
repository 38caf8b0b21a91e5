"""The built-in strategies on a month of real Binance data, through BotCore and the simulator,
against the straightforward re-statements in ``references.py`` (vectorized indicators, plain
loops)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest

from binbot.domain.market import Market
from binbot.indicators import atr
from binbot.strategy.builtin.ma_cross import MaCross
from binbot.strategy.builtin.macd_turtle import MacdTurtle
from binbot.strategy.builtin.rsi import Rsi
from tests.unit.strategy import references as ref
from tests.unit.strategy.engine_run import run

MONTH = "FILUSDT-1m-2024-02.csv.gz"
OTHER = "AVAXUSDT-1m-2024-02.csv.gz"


@pytest.fixture(scope="module")
def minutes(month: Callable[[str], Any]) -> Any:
    return month(MONTH)


@pytest.fixture(scope="module")
def bars15(minutes: Any, bars: Callable[..., Any]) -> list[Any]:
    return list(bars(minutes, "15m"))


@pytest.fixture(scope="module")
def bars5(minutes: Any, bars: Callable[..., Any]) -> list[Any]:
    return list(bars(minutes, "5m"))


@pytest.mark.parametrize("market", [Market.USDM, Market.SPOT])
def test_rsi_with_the_default_trend_filter(bars5: list[Any], market: Market) -> None:
    expected = ref.rsi_actions(bars5, shorts=market is Market.USDM)
    actual = run(Rsi({"quantity": "100"}), bars5, market=market, interval="5m").trades()
    assert len(expected) >= 12 if market is Market.USDM else len(expected) >= 6
    assert actual == expected


def test_rsi_without_the_filter(bars15: list[Any]) -> None:
    expected = ref.rsi_actions(bars15, trend_period=0)
    actual = run(Rsi({"quantity": "100", "trend_period": 0}), bars15).trades()
    assert len(expected) >= 20
    assert {k for _, k, _ in expected} == {"open_long", "close_long", "open_short",
                                           "close_short"}
    assert actual == expected


@pytest.mark.parametrize("kind", ["sma", "ema"])
@pytest.mark.parametrize("market", [Market.USDM, Market.SPOT])
def test_ma_cross(bars15: list[Any], kind: str, market: Market) -> None:
    expected = ref.ma_cross_actions(bars15, kind=kind, shorts=market is Market.USDM)
    actual = run(MaCross({"quantity": "100", "ma": kind}), bars15, market=market).trades()
    assert len(expected) >= 80
    assert actual == expected


@pytest.mark.parametrize("market", [Market.USDM, Market.SPOT])
def test_macd_turtle_with_a_fixed_unit(bars15: list[Any], market: Market) -> None:
    expected = ref.turtle_actions(bars15, Decimal(100), shorts=market is Market.USDM)
    actual = run(MacdTurtle({"unit_quantity": "100"}), bars15, market=market).fills()
    tags = Counter(tag for _, tag, _, _, _ in expected)
    assert len(expected) >= 60
    assert {"trial", "entry", "top_up", "pyramid", "stop", "cross_exit"} <= set(tags)
    assert actual == expected


def test_macd_turtle_on_another_symbol(month: Callable[[str], Any],
                                       bars: Callable[..., Any]) -> None:
    data = list(bars(month(OTHER), "15m"))
    expected = ref.turtle_actions(data, Decimal(10))
    assert len(expected) >= 60
    assert run(MacdTurtle({"unit_quantity": "10"}), data).fills() == expected


def test_macd_turtle_sizes_entries_in_turtle_units(bars15: list[Any]) -> None:
    capital = Decimal(10_000)
    fixed = run(MacdTurtle({"unit_quantity": "1"}), bars15, capital=capital)
    sized = run(MacdTurtle(), bars15, capital=capital)
    # Sizing changes no decision: the same orders at the same times and prices.
    decisions = [(t, tag, side, price) for t, tag, side, _, price in fixed.fills()]
    assert [(t, tag, side, price) for t, tag, side, _, price in sized.fills()] == decisions
    # Entries from flat: unit = min(E x 1% / ATR, min(E, capital) x 0.95 / (4 x price)), with
    # E the equity from the ledger (flat: capital + net PnL so far) and the ATR(20) computed
    # over the whole month at once.
    closes = ref.closes(bars15)
    n = atr([b.high for b, _ in bars15], [b.low for b, _ in bars15], closes, 20)
    index = {ticks[-1][0]: i for i, (_, ticks) in enumerate(bars15)}
    trades = list(sized.bot.portfolio.trades)
    checked = 0
    bound_by: Counter[str] = Counter()
    for t, tag, _, quantity, price in sized.fills():
        if tag not in ("trial", "entry"):
            continue
        equity = float(capital + sum((r.net_pnl for r in trades if r.time < t), Decimal(0)))
        by_risk = equity * 0.01 / n[index[t]]
        by_leverage = min(equity, float(capital)) * 0.95 / (4.0 * price)
        bound_by["risk" if by_risk < by_leverage else "leverage"] += 1
        units = 0.5 if tag == "trial" else 2.0
        step = Decimal("0.001")
        want = (Decimal(repr(units * min(by_risk, by_leverage))) / step).to_integral_value(
            ROUND_DOWN) * step
        assert quantity == pytest.approx(float(want), abs=0.0011)
        checked += 1
    assert checked >= 20
    assert sum(bound_by.values()) == checked
