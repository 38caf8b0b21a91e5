"""Built-in strategies, by name. Values are ``module:Class`` references, imported on demand.

- ``boll``: Bollinger-band mean reversion with real-time bands (``boll.py``).
- ``rsi``: RSI levels (buy below 30, sell above 70) with an SMA trend filter (``rsi.py``).
- ``macd_turtle``: MACD crossovers filtered by SMA 7/20/60/120 alignment, turtle units with
  pyramiding and 2-ATR stops (``macd_turtle.py``).
- ``ma_cross``: fast/slow SMA or EMA crossover (``ma_cross.py``).

Each module's docstring states its rules exactly; each class declares validated ``Params``.
"""

from __future__ import annotations

from typing import Final

BUILTIN: Final[dict[str, str]] = {
    "boll": "binbot.strategy.builtin.boll:Boll",
    "rsi": "binbot.strategy.builtin.rsi:Rsi",
    "macd_turtle": "binbot.strategy.builtin.macd_turtle:MacdTurtle",
    "ma_cross": "binbot.strategy.builtin.ma_cross:MaCross",
}
