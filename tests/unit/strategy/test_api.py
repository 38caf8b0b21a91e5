"""The strategy API: loader, parameter validation, candle views, the documented example."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import Field

from binbot.domain.market import Market
from binbot.strategy import (
    INTERFACE_VERSION,
    CandleSeries,
    Strategy,
    StrategyLoadError,
    StrategyParams,
    StrategyParamsError,
    load_strategy,
    resolve_strategy,
)
from binbot.strategy.base import StrategyNotBound
from binbot.strategy.builtin.boll import Boll

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


class Typed(Strategy):
    name = "typed"

    class Params(StrategyParams):
        window: int = Field(14, ge=2)
        threshold: float = 0.5

    params: Params


def test_loader_resolves_builtins_and_module_references() -> None:
    assert resolve_strategy("boll") is Boll
    assert resolve_strategy("binbot.strategy.builtin.boll:Boll") is Boll
    with pytest.raises(StrategyLoadError, match="unknown strategy 'nope'"):
        resolve_strategy("nope")
    with pytest.raises(StrategyLoadError, match="cannot import"):
        resolve_strategy("no_such_module_xyz:Thing")
    with pytest.raises(StrategyLoadError, match="not a binbot Strategy"):
        resolve_strategy("decimal:Decimal")


def test_interface_version_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Boll, "interface_version", INTERFACE_VERSION + 1)
    with pytest.raises(StrategyLoadError, match="interface version"):
        resolve_strategy("boll")


def test_params_have_defaults_types_and_named_errors() -> None:
    s = Typed({"window": "20"})
    assert (s.params.window, s.params.threshold) == (20, 0.5)
    with pytest.raises(StrategyParamsError, match=r"strategy typed: parameter 'window'"):
        Typed({"window": 1})
    with pytest.raises(StrategyParamsError, match=r"'threshold'.*was 'high'"):
        Typed({"threshold": "high"})


def test_views_need_a_bot() -> None:
    with pytest.raises(StrategyNotBound):
        _ = Typed().price


def test_candle_series_keeps_the_last_capacity_in_order(
    make_instrument: Callable[..., Any],
) -> None:
    from binbot.domain.candle import Candle

    series = CandleSeries(capacity=3)
    for i in range(10):
        series.append(Candle(Market.USDM, "X", "1m", i * 60_000, i * 60_000 + 59_999, i, i + 1,
                             i - 1, i + 0.5, 1.0, 1.0, 1, 0.5, 0.5, True))
    assert len(series) == 3
    np.testing.assert_array_equal(series.close, [7.5, 8.5, 9.5])
    np.testing.assert_array_equal(series.open_time, [420_000, 480_000, 540_000])
    assert not series.close.flags.writeable
    frame = series.to_frame()
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert str(frame.index[0]) == "1970-01-01 00:07:00+00:00"


def test_example_strategy_runs_on_real_data(
    monkeypatch: pytest.MonkeyPatch, month: Callable[[str], Any], bars: Callable[..., Any],
    replayer: Callable[..., Any], make_instrument: Callable[..., Any],
) -> None:
    from binbot.engine import BotCore
    from binbot.sim import SimConfig, SimulatedExchange

    monkeypatch.syspath_prepend(str(EXAMPLES))
    strategy = load_strategy("my_strategy:SmaCross", {"fast": 5, "slow": 20,
                                                      "quote_amount": "50"})
    with pytest.raises(StrategyParamsError, match="fast must be < slow"):
        load_strategy("my_strategy:SmaCross", {"fast": 30, "slow": 20})
    inst = make_instrument(Market.USDM)
    sim = SimulatedExchange(inst, SimConfig.standard(Market.USDM, Decimal(10_000)))
    bot = BotCore("example", inst, "1h", strategy, sim, capital=Decimal(10_000),
                  max_trades=None)
    bot.start()
    for _ in replayer(bot, sim, bars(month("FILUSDT-1m-2024-02.csv.gz"), "1h")):
        pass
    kinds = {t.kind.value for t in bot.portfolio.trades}
    assert kinds == {"open_long", "close_long", "open_short", "close_short"}
    assert bot.status.value == "running"
    assert strategy.state["last_signal"] in ("up", "down")
    assert bot.portfolio.balance == sim.account.balance
