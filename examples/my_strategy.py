"""An example user strategy: a simple moving-average crossover, long only on spot, long/short
on futures.

Run it in a bot by pointing the config at it (the directory must be importable, e.g. via
PYTHONPATH=examples)::

    [[bots]]
    id = "sma-cross"
    strategy = "my_strategy:SmaCross"
    params = { fast = 10, slow = 30, quote_amount = "100" }

How it works:
- ``Params`` declares typed, validated parameters with defaults; a bad value stops the bot
  at load time with a message naming the parameter.
- ``on_candle`` runs when a candle closes; ``self.candles.close`` is a numpy array of closes
  (oldest first), so the averages are one vectorised call each.
- ``buy``/``sell``/``close`` go through the bot's risk gate; in paper mode and backtests they
  fill at once at the latest price, live they fill when the exchange says so.
- ``self.state`` survives restarts: here it remembers the last signal so a restart does not
  re-trade a crossover already acted on.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, model_validator

from binbot.domain.candle import Candle
from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.indicators import sma
from binbot.strategy import Strategy, StrategyParams


class SmaCrossParams(StrategyParams):
    fast: int = Field(10, ge=1, description="fast moving-average period (candles)")
    slow: int = Field(30, ge=2, description="slow moving-average period (candles)")
    quote_amount: Decimal = Field(Decimal(100), gt=0, description="quote spent per entry")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> SmaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast must be < slow ({self.slow}), was {self.fast}")
        return self


class SmaCross(Strategy):
    """Go long when the fast SMA crosses above the slow one; exit (or go short) on the way down."""

    name = "sma_cross"
    Params = SmaCrossParams
    params: SmaCrossParams

    def on_start(self) -> None:
        self.log.info("SMA cross %d/%d on %s", self.params.fast, self.params.slow, self.symbol)

    def on_candle(self, candle: Candle) -> None:
        closes = self.candles.close
        if len(closes) < self.params.slow + 1:
            return  # not enough history yet
        fast = sma(closes[-(self.params.slow + 1):], self.params.fast)
        slow = sma(closes[-(self.params.slow + 1):], self.params.slow)
        above_now = fast[-1] > slow[-1]
        above_before = fast[-2] > slow[-2]
        if above_now == above_before:
            return
        signal = "up" if above_now else "down"
        if self.state.get("last_signal") == signal:
            return
        self.state["last_signal"] = signal
        position = self.position
        if signal == "up":
            if position.side == "short":
                self.close(tag="cross_up")
            if position.side != "long":
                self.buy(quote_amount=self.params.quote_amount, tag="cross_up")
        else:
            if position.side == "long":
                self.close(tag="cross_down")
            if self.market is Market.USDM and position.side != "short":
                self.sell(quote_amount=self.params.quote_amount, tag="cross_down")

    def on_fill(self, fill: Fill) -> None:
        self.log.info("%s %s @ %s (fee %s)", fill.side, fill.quantity, fill.price, fill.fee)
