"""Trading rules of each symbol: the filter values ``exchangeInfo`` publishes and orders obey.

Derived from the data by default (tick = one unit of the file's price decimals, step = one unit
of its volume decimals, min notional 5); ``LocalExchange.set_rules`` overrides them at run time
so a test can change tickSize/stepSize/minNotional mid-run (reliability.md R6).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from binbot.exchange.decimals import decimals_of, from_scaled
from binbot.exchange.klinedata import SymbolData

_QUOTES: Final = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY",
                  "USD")


def split_symbol(symbol: str) -> tuple[str, str]:
    for quote in _QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol[:-4] or symbol, symbol[-4:]


@dataclass(frozen=True, slots=True)
class SymbolRules:
    symbol: str
    base: str
    quote: str
    price_dec: int  # decimals the data prints; the precision used for display
    qty_dec: int
    tick: Decimal
    min_price: Decimal
    max_price: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    percent_up: Decimal = Decimal("1.05")  # USD-M PERCENT_PRICE vs the mark price
    percent_down: Decimal = Decimal("0.95")

    @classmethod
    def from_data(cls, data: SymbolData) -> SymbolRules:
        base, quote = split_symbol(data.symbol)
        tick = from_scaled(1, data.price_dec)
        step = from_scaled(1, data.qty_dec)
        return cls(
            symbol=data.symbol, base=base, quote=quote, price_dec=data.price_dec,
            qty_dec=data.qty_dec, tick=tick, min_price=tick,
            max_price=from_scaled(int(data.high.max()) * 1000, data.price_dec),
            step=step, min_qty=step, max_qty=Decimal(1_000_000),
            market_max_qty=Decimal(100_000), min_notional=Decimal(5),
        )

    def with_overrides(self, tick_size: Decimal | None = None, step_size: Decimal | None = None,
                       min_notional: Decimal | None = None) -> SymbolRules:
        changes: dict[str, object] = {}
        if tick_size is not None:
            changes.update(tick=tick_size, min_price=tick_size)
        if step_size is not None:
            changes.update(step=step_size, min_qty=step_size)
        if min_notional is not None:
            changes["min_notional"] = min_notional
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def price_precision(self) -> int:
        return max(self.price_dec, decimals_of(self.tick))

    @property
    def qty_precision(self) -> int:
        return max(self.qty_dec, decimals_of(self.step))
