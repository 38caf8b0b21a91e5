"""The instrument a backtest trades when none is given: filters derived from the data.

Tick size is one unit of the price precision the candles show, step size one unit of the volume
precision; limits and the minimum notional are Binance's usual values. The local exchange
publishes the same filters for the same files, so a backtest and a paper bot trading it round
quantities identically. Pass a real ``Instrument`` to ``run_backtest`` to use exchangeInfo's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from binbot.domain.instrument import Instrument
from binbot.domain.market import Market

_QUOTES: Final = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY",
                  "USD")


def split_symbol(symbol: str) -> tuple[str, str]:
    """``("FIL", "USDT")`` from ``"FILUSDT"`` (the common quote assets are recognised)."""
    for quote in _QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol[:-4] or symbol, symbol[-4:]


def derived_instrument(market: Market, symbol: str, price_decimals: int, qty_decimals: int,
                       max_price: float) -> Instrument:
    tick = Decimal(1).scaleb(-price_decimals)
    step = Decimal(1).scaleb(-qty_decimals)
    top = (Decimal(int(max_price)) * 1000).quantize(tick)
    base, quote = split_symbol(symbol)
    if market is Market.USDM:
        return Instrument(market, symbol, base, quote, "TRADING", tick, tick, top, step, step,
                          Decimal(1_000_000), step, step, Decimal(100_000), Decimal(5))
    zero = Decimal(0)
    return Instrument(market, symbol, base, quote, "TRADING", tick, tick, top, step, step,
                      Decimal(9_000_000), zero, zero, Decimal(100_000), Decimal(5))
