"""Where the replayed FILUSDT market goes next, read from the data (to place orders that will,
or will not, be reached)."""

from __future__ import annotations

from decimal import Decimal

from binbot.exchange.server import LocalExchange

SYMBOL = "FILUSDT"


def last_price(exchange: LocalExchange) -> Decimal:
    return exchange.price_of(SYMBOL)


def coming_range(exchange: LocalExchange, minutes: int) -> tuple[Decimal, Decimal]:
    """(lowest low, highest high) of the next ``minutes`` candles after the current one."""
    market = exchange.engine.markets[SYMBOL]
    data = market.data
    lo, hi = market.i + 1, market.i + 1 + minutes
    scale = Decimal(10) ** -data.price_dec
    return (Decimal(int(data.low[lo:hi].min())) * scale,
            Decimal(int(data.high[lo:hi].max())) * scale)


def price_text(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.001")), "f")
