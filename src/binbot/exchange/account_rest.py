"""What the signed REST handlers of both venues share: accounts, the gate, the ledger,
order-count headers and time-range selection."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from aiohttp import web

from binbot.domain.market import Market
from binbot.exchange.accounts import AccountSpec
from binbot.exchange.clock import WallClock
from binbot.exchange.http_policy import FAULT_KEY
from binbot.exchange.ledger import Ledger, LedgerEntry
from binbot.exchange.orders.params import Params, int_param, limit_param
from binbot.exchange.orders.spot import SpotBook
from binbot.exchange.orders.usdm import FuturesBook
from binbot.exchange.signed_rest import SignedGate, raw_params

T = TypeVar("T")
_ORDER_WINDOWS: Final = {Market.USDM: (("10S", 10), ("1M", 60)),
                         Market.SPOT: (("10S", 10), ("1D", 86_400))}


@dataclass(frozen=True)
class Books:
    specs: dict[str, AccountSpec]
    usdm: dict[str, FuturesBook]
    spot: dict[str, SpotBook]
    symbols: list[str]


class OrderCounter:
    """Orders per account in fixed wall-clock windows (``X-MBX-ORDER-COUNT-*``)."""

    def __init__(self, wall: WallClock) -> None:
        self._wall = wall
        self._windows: dict[tuple[str, Market, int], tuple[int, int]] = {}

    def count(self, api_key: str, venue: Market) -> dict[str, str]:
        now = self._wall()
        headers = {}
        for label, seconds in _ORDER_WINDOWS[venue]:
            window = int(now // seconds)
            key = (api_key, venue, seconds)
            start, used = self._windows.get(key, (window, 0))
            used = used + 1 if start == window else 1
            self._windows[key] = (window, used)
            headers[f"X-MBX-ORDER-COUNT-{label}"] = str(used)
        return headers


class SignedContext:
    """Dependencies of the signed handlers."""

    def __init__(self, books: Books, gate: SignedGate, ledger: Ledger,
                 sync: Callable[[], None], now_ms: Callable[[], int], wall: WallClock) -> None:
        self.books = books
        self.gate = gate
        self.ledger = ledger
        self.sync = sync
        self.now_ms = now_ms
        self.orders = OrderCounter(wall)

    def record(self, request: web.Request, venue: Market, kind: str, params: Params,
               api_key: str | None, executed: bool, order_id: int | None,
               code: int | None) -> None:
        self.record_entry(venue, kind, params, api_key, executed, order_id, code,
                          request.get(FAULT_KEY))

    def record_entry(self, venue: Market, kind: str, params: Params, api_key: str | None,
                     executed: bool, order_id: int | None, code: int | None,
                     fault: str | None) -> None:
        """One ledger entry, whichever transport carried the order (REST or WS-API)."""
        id_param = "clientAlgoId" if kind == "algo" else "newClientOrderId"
        self.ledger.record(LedgerEntry(
            venue=venue, kind=kind, api_key=api_key, client_order_id=params.get(id_param) or None,
            symbol=params.get("symbol") or None, side=params.get("side") or None,
            type=params.get("type") or None, executed=executed, order_id=order_id, code=code,
            fault=fault, time_ms=self.now_ms()))

    async def record_refused(self, request: web.Request, fault: str, code: int | None) -> None:
        """A fault answered an order placement before it executed (the middleware's hook)."""
        path = request.path
        kinds = {"/fapi/v1/order": (Market.USDM, "order"),
                 "/fapi/v1/algoOrder": (Market.USDM, "algo"),
                 "/api/v3/order": (Market.SPOT, "order")}
        if path not in kinds:
            return
        venue, kind = kinds[path]
        params = await raw_params(request)
        id_param = "clientAlgoId" if kind == "algo" else "newClientOrderId"
        self.ledger.record(LedgerEntry(
            venue=venue, kind=kind, api_key=request.headers.get("X-MBX-APIKEY"),
            client_order_id=params.get(id_param) or None, symbol=params.get("symbol") or None,
            side=params.get("side") or None, type=params.get("type") or None, executed=False,
            order_id=None, code=code, fault=fault, time_ms=self.now_ms()))


def select_by_time(items: Iterable[T], params: Params, time_of: Callable[[T], int],
                   id_of: Callable[[T], int], id_param: str, default: int,
                   maximum: int) -> list[T]:
    """Binance's history selection: from an id, or a time range, else the most recent."""
    start = int_param(params, "startTime")
    end = int_param(params, "endTime")
    from_id = int_param(params, id_param)
    limit = limit_param(params, default, maximum)
    chosen: Sequence[T] = [
        item for item in items
        if (from_id is None or id_of(item) >= from_id)
        and (start is None or time_of(item) >= start)
        and (end is None or time_of(item) <= end)]
    if from_id is not None or start is not None:
        return list(chosen[:limit])
    return list(chosen[-limit:])
