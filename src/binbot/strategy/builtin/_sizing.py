"""Entry sizing shared by the built-in signal strategies (``rsi``, ``ma_cross``)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, model_validator

from binbot.strategy.base import Strategy
from binbot.strategy.params import StrategyParams


class SizedParams(StrategyParams):
    """Sizing of each entry: ``quantity`` (base) or ``quote_amount``; with neither, each
    entry uses ``capital_share`` of equity x leverage."""

    quantity: Decimal | None = Field(None, gt=0)
    quote_amount: Decimal | None = Field(None, gt=0)
    capital_share: float = Field(0.9, gt=0, le=1, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_size(self) -> SizedParams:
        if self.quantity is not None and self.quote_amount is not None:
            raise ValueError("give quantity or quote_amount, not both")
        return self


def enter(strategy: Strategy, params: SizedParams, long: bool, tag: str) -> None:
    """Open a position the size ``params`` ask for, at market."""
    quote: Decimal | float | None = params.quote_amount
    if params.quantity is None and quote is None:
        quote = float(strategy.equity) * params.capital_share * strategy.position.leverage
    quantity = params.quantity
    if long:
        strategy.buy(quantity, quote_amount=None if quantity else quote, tag=tag)
    else:
        strategy.sell(quantity, quote_amount=None if quantity else quote, tag=tag)
