"""BOLL on a month of real Binance data, through BotCore and the simulator, against an
independent, straightforward re-implementation of DESIGN.md's rules written here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from binbot.domain.market import Market
from binbot.engine import BotCore
from binbot.sim import SimConfig, SimulatedExchange
from binbot.strategy.builtin.boll import Boll

MONTH = "FILUSDT-1m-2024-02.csv.gz"
TIE = 1e-9


def reference_actions(data: list[tuple[Any, list[tuple[int, float]]]], period: int = 20,
                      k: float = 2.0, ddof: int = 0, shorts: bool = True
                      ) -> list[tuple[int, str, float]]:
    """DESIGN.md's BOLL, spelled out with np.mean/np.std over the explicit window."""
    actions: list[tuple[int, str, float]] = []
    closed: list[float] = []
    position, phase = "flat", "normal"
    for bar, ticks in data:
        for time_ms, p in ticks:
            if len(closed) < period - 1:
                continue
            window = np.array([*closed[len(closed) - (period - 1) :], p])
            mid = np.mean(window)
            std = np.std(window, ddof=ddof)
            up, dn = mid + k * std, mid - k * std
            if phase == "normal":
                if p > up * (1 + TIE):
                    if position == "short":
                        actions.append((time_ms, "close_short", p))
                        position = "flat"
                    phase = "above_up"
                elif p < dn * (1 - TIE):
                    if position == "long":
                        actions.append((time_ms, "close_long", p))
                        position = "flat"
                    phase = "below_dn"
            elif phase == "above_up":
                if p <= up * (1 + TIE):
                    if position == "long":
                        actions.append((time_ms, "close_long", p))
                        position = "flat"
                    if shorts:
                        actions.append((time_ms, "open_short", p))
                        position = "short"
                    phase = "normal"
            elif p >= dn * (1 - TIE):
                if position == "short":
                    actions.append((time_ms, "close_short", p))
                    position = "flat"
                actions.append((time_ms, "open_long", p))
                position = "long"
                phase = "normal"
        closed.append(bar.close)
    return actions


class EveryTickBoll(Boll):
    """BOLL without the quiet-zone shortcut: every price is evaluated exactly."""

    def on_price(self, price: float) -> None:
        self._evaluate(price)


def run_engine(strategy: Boll, market: Market, data: list[Any],
               replayer: Callable[..., Iterator[None]],
               make_instrument: Callable[..., Any]) -> list[tuple[int, str, float]]:
    inst = make_instrument(market)
    sim = SimulatedExchange(inst, SimConfig.standard(market, Decimal(1_000_000)))
    bot = BotCore("real", inst, "15m", strategy, sim, capital=Decimal(1_000_000),
                  max_trades=None)
    bot.start()
    for _ in replayer(bot, sim, data):
        pass
    return [(t.time, t.kind.value, float(t.price)) for t in bot.portfolio.trades]


@pytest.fixture(scope="module")
def data(month: Callable[[str], Any], bars: Callable[..., Any]) -> list[Any]:
    return list(bars(month(MONTH), "15m"))


def test_futures_actions_match_the_reference(
    data: list[Any], replayer: Callable[..., Iterator[None]], make_instrument: Callable[..., Any]
) -> None:
    expected = reference_actions(data)
    actual = run_engine(Boll({"quantity": "1"}), Market.USDM, data, replayer,
                        make_instrument)
    assert len(expected) > 100  # a month of 15m BOLL trades plenty
    kinds = {kind for _, kind, _ in expected}
    assert kinds == {"open_long", "close_long", "open_short", "close_short"}
    assert actual == expected


def test_spot_actions_match_the_reference(
    data: list[Any], replayer: Callable[..., Iterator[None]], make_instrument: Callable[..., Any]
) -> None:
    expected = reference_actions(data, shorts=False)
    actual = run_engine(Boll({"quantity": "1"}), Market.SPOT, data, replayer,
                        make_instrument)
    assert {kind for _, kind, _ in expected} == {"open_long", "close_long"}
    assert actual == expected


def test_quiet_zone_decides_exactly_like_evaluating_every_tick(
    data: list[Any], replayer: Callable[..., Iterator[None]], make_instrument: Callable[..., Any]
) -> None:
    factory = make_instrument
    params = {"quantity": "1", "period": 20, "k": 2.0}
    fast = run_engine(Boll(params), Market.USDM, data, replayer, factory)
    slow = run_engine(EveryTickBoll(params), Market.USDM, data, replayer, factory)
    assert fast == slow
    alt = {"quantity": "1", "period": 10, "k": 1.5, "ddof": 1}
    fast = run_engine(Boll(alt), Market.USDM, data, replayer, factory)
    slow = run_engine(EveryTickBoll(alt), Market.USDM, data, replayer, factory)
    assert fast == slow
    assert fast == reference_actions(data, period=10, k=1.5, ddof=1)
