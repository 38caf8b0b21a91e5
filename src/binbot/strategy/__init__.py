"""The strategy API: subclass ``Strategy``, declare ``Params``, override hooks.

Public API: ``Strategy``, ``StrategyParams``, ``StrategyContext``, ``PositionView``,
``CandleSeries``, ``INTERFACE_VERSION``, ``load_strategy``/``resolve_strategy``,
``StrategyParamsError``, ``StrategyLoadError``. See ``base.py`` for the hooks and commands.
"""

from binbot.strategy.base import INTERFACE_VERSION, Strategy
from binbot.strategy.candles import CandleSeries
from binbot.strategy.context import PositionView, PriceSource, StrategyContext
from binbot.strategy.loader import StrategyLoadError, load_strategy, resolve_strategy
from binbot.strategy.params import StrategyParams, StrategyParamsError

__all__ = [
    "INTERFACE_VERSION",
    "CandleSeries",
    "PositionView",
    "PriceSource",
    "Strategy",
    "StrategyContext",
    "StrategyLoadError",
    "StrategyParams",
    "StrategyParamsError",
    "load_strategy",
    "resolve_strategy",
]
