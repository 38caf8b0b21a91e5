"""Finding an order the way Binance's query and cancel endpoints do (spot and USD-M alike)."""

from __future__ import annotations

from binbot.exchange.orders.model import Order
from binbot.exchange.orders.params import Params, int_param, mandatory, optional
from binbot.exchange.orders.view import MarketView
from binbot.exchange.rest import BinanceError


def find_order(orders: dict[int, Order], view: MarketView, params: Params) -> Order:
    """The order named by ``orderId`` or ``origClientOrderId`` on ``symbol`` (-1102 when
    neither is sent, -2013 when there is none; an unknown symbol fails as Binance's does)."""
    symbol = mandatory(params, "symbol")
    view.rules(symbol)
    order_id = int_param(params, "orderId")
    client = optional(params, "origClientOrderId")
    if order_id is None and client is None:
        raise BinanceError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but "
                                  "both were empty/null!")
    if order_id is not None:
        order = orders.get(order_id)
        if order is not None and order.symbol == symbol and (
                client is None or order.client_order_id == client):
            return order
    else:
        # The most recent order with this client id (ids may be reused after a fill).
        for order in reversed(orders.values()):
            if order.symbol == symbol and order.client_order_id == client:
                return order
    raise BinanceError(-2013, "Order does not exist.")
