"""``WsApiOrders``: USD-M order entry over the WebSocket API (``order.place/cancel/status``).

The same ``OrderRequest`` (rounded and validated by ``build_order``, same client order id) and
the same answers as ``BinanceTradingApi``: the WS-API ``result`` is the REST order JSON, parsed by
the same code. Algo (conditional) orders have their own REST service and stay on REST.
"""

from __future__ import annotations

import msgspec

from binbot.adapters.binance import account_parsing as parse
from binbot.adapters.binance.order_params import OrderRequest
from binbot.adapters.binance.signing import ParamValue
from binbot.adapters.binance.wire_account import WireOrder
from binbot.adapters.binance.ws_api import WsApiOrderTransport
from binbot.domain.errors import TransientError
from binbot.domain.market import Market


def _order(body: bytes) -> parse.ExchangeOrder:
    try:
        wire = msgspec.json.decode(body, type=WireOrder)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise TransientError(f"unexpected WS-API result ({e}): {body[:200]!r}") from e
    return parse.exchange_order(wire, Market.USDM)


class WsApiOrders:
    """Place, cancel and query regular USD-M orders over one ``WsApiOrderTransport``."""

    market = Market.USDM

    def __init__(self, transport: WsApiOrderTransport) -> None:
        self.transport = transport

    async def place(self, request: OrderRequest) -> parse.ExchangeOrder:
        """``order.place``; never retried (an unanswered request is ``UnknownOutcome``)."""
        if request.is_algo:
            raise ValueError("algo orders go to the REST algo service, not order.place")
        body = await self.transport.request("order.place", request.params, mutation=True)
        return _order(body)

    async def cancel(self, symbol: str, client_order_id: str) -> parse.ExchangeOrder:
        params = (("symbol", symbol), ("origClientOrderId", client_order_id))
        return _order(await self.transport.request("order.cancel", params, mutation=True))

    async def order(self, symbol: str, client_order_id: str) -> parse.ExchangeOrder:
        """``order.status`` by client id (the execution client queries over REST)."""
        params: tuple[tuple[str, ParamValue], ...] = (
            ("symbol", symbol), ("origClientOrderId", client_order_id))
        return _order(await self.transport.request("order.status", params, mutation=False))

    async def close(self) -> None:
        await self.transport.close()
