"""What a book needs from the rest of the exchange: rules, prices, time, ids, an event sink."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from binbot.exchange.orders.model import EventSink, Ids
from binbot.exchange.rules import SymbolRules


@dataclass(frozen=True, slots=True)
class MarketView:
    rules: Callable[[str], SymbolRules]  # raises BinanceError -1121 for an unknown symbol
    price: Callable[[str], Decimal]  # the replay's last trade price (also the mark)
    now_ms: Callable[[], int]  # virtual time
    ids: Ids
    sink: EventSink
