"""What the exchange received: every order request, per client order id, executed or not.

Tests assert "the exchange received exactly N orders" and "no client id executed twice" with
it; ``GET /__sim/ledger`` serves the same list. An entry is added for every order placement
that reached the exchange (``POST`` order / algoOrder, spot and USD-M): accepted ones have
``executed=True`` (the matching engine took them, whatever happened to the reply afterwards),
refused ones carry the Binance error code (a signature failure, a filter, an injected fault
that answered before executing...).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any

from binbot.domain.market import Market


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    venue: Market
    kind: str  # "order" or "algo"
    api_key: str | None
    client_order_id: str | None
    symbol: str | None
    side: str | None
    type: str | None
    executed: bool
    order_id: int | None  # orderId or algoId when executed
    code: int | None  # the Binance error code when refused
    fault: str | None  # the fault injected on this request, if any
    time_ms: int  # virtual time

    def to_json(self) -> dict[str, Any]:
        body = dataclasses.asdict(self)
        body["venue"] = self.venue.value
        return body


class Ledger:
    def __init__(self) -> None:
        self.entries: list[LedgerEntry] = []

    def record(self, entry: LedgerEntry) -> None:
        self.entries.append(entry)

    def received(self, client_order_id: str | None = None,
                 venue: Market | None = None) -> list[LedgerEntry]:
        return [e for e in self.entries
                if (client_order_id is None or e.client_order_id == client_order_id)
                and (venue is None or e.venue is venue)]

    def executed(self, client_order_id: str | None = None,
                 venue: Market | None = None) -> list[LedgerEntry]:
        return [e for e in self.received(client_order_id, venue) if e.executed]

    def executions_per_client_id(self) -> Counter[str]:
        return Counter(e.client_order_id for e in self.entries
                       if e.executed and e.client_order_id is not None)

    def clear(self) -> None:
        self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)
