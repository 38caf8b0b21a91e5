"""OrderIntent -> the exact request parameters of a Binance order, validated locally.

Quantities are floored to the step (MARKET_LOT_SIZE for orders that execute at market),
limit prices rounded never more aggressively than asked, trigger prices rounded away from the
market (a stop never fires earlier than asked), then every filter is checked. Anything the
venue would reject raises ``FilterViolation`` with the reason and nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Final

from binbot.adapters.binance.signing import ParamValue
from binbot.domain.instrument import FilterViolation, Instrument, to_wire
from binbot.domain.market import Market
from binbot.domain.orders import OrderIntent, OrderSide, OrderType, TimeInForce

ZERO: Final = Decimal(0)
CONDITIONAL: Final = frozenset({OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET})
_SPOT_TYPE: Final = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP_MARKET: "STOP_LOSS",
    OrderType.TAKE_PROFIT_MARKET: "TAKE_PROFIT",
}


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What to send: ``path`` below the REST host, ordered params, and whether it is an algo
    (USD-M conditional) order, whose id is ``clientAlgoId``."""

    path: str
    params: tuple[tuple[str, ParamValue], ...]
    is_algo: bool
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None


def _trigger(instrument: Instrument, intent: OrderIntent, stop: Decimal) -> Decimal:
    # Away from the market: a sell stop sits below it (floor), a buy stop above (ceiling); a
    # take-profit the other way round. round_price floors for buy=True and ceils otherwise.
    sell = intent.side is OrderSide.SELL
    floor = sell if intent.type is OrderType.STOP_MARKET else not sell
    return instrument.round_price(stop, buy=floor)


def build_order(
    intent: OrderIntent, instrument: Instrument, *, reference_price: Decimal | None = None
) -> OrderRequest:
    """Round and validate ``intent``; raise ``FilterViolation`` when it must not be sent.

    ``reference_price`` prices the notional check of MARKET orders (last or mark price);
    without it that one check is skipped and left to the venue.
    """
    if intent.symbol != instrument.symbol or intent.market is not instrument.market:
        raise FilterViolation(
            f"intent for {intent.market.value} {intent.symbol} checked against "
            f"{instrument.market.value} {instrument.symbol}"
        )
    at_market = intent.type is not OrderType.LIMIT
    qty = instrument.round_qty(intent.quantity, market_order=at_market)
    if qty <= 0:
        raise FilterViolation(f"quantity {intent.quantity} rounds to 0 at the step size")
    price: Decimal | None = None
    stop: Decimal | None = None
    if intent.type is OrderType.LIMIT:
        limit = intent.price if intent.price is not None else ZERO  # set for LIMIT intents
        price = instrument.round_price(limit, buy=intent.side is OrderSide.BUY)
        check_price, checked = price, instrument
    elif intent.type in CONDITIONAL:
        trigger = intent.stop_price if intent.stop_price is not None else ZERO
        stop = _trigger(instrument, intent, trigger)
        check_price, checked = stop, instrument
    elif reference_price is not None and reference_price > 0:
        check_price, checked = reference_price, instrument
    else:
        check_price, checked = Decimal(1), replace(instrument, min_notional=ZERO)
    for value in (price, stop):
        if value is not None and value <= 0:
            raise FilterViolation(f"price rounds to {value}, was asked {intent.price}")
        if value is not None and instrument.max_price > 0 and value > instrument.max_price:
            raise FilterViolation(f"price above maximum {instrument.max_price}, was {value}")
        if value is not None and instrument.min_price > 0 and value < instrument.min_price:
            raise FilterViolation(f"price below minimum {instrument.min_price}, was {value}")
    checked.check(check_price, qty, market_order=at_market, reduce_only=intent.reduce_only)
    if instrument.market is Market.USDM:
        return _usdm(intent, qty, price, stop)
    return _spot(intent, qty, price, stop)


def _usdm(intent: OrderIntent, qty: Decimal, price: Decimal | None,
          stop: Decimal | None) -> OrderRequest:
    params: list[tuple[str, ParamValue]] = [("symbol", intent.symbol), ("side", intent.side.value)]
    if intent.type in CONDITIONAL and stop is not None:
        params[:0] = [("algoType", "CONDITIONAL")]
        params += [("type", intent.type.value), ("quantity", to_wire(qty)),
                   ("triggerPrice", to_wire(stop))]
        if intent.reduce_only:
            params.append(("reduceOnly", "true"))
        params.append(("clientAlgoId", intent.client_order_id))
        return OrderRequest("/fapi/v1/algoOrder", tuple(params), True, qty, None, stop)
    params += [("type", intent.type.value), ("quantity", to_wire(qty))]
    if price is not None:
        tif = intent.time_in_force or TimeInForce.GTC
        params += [("price", to_wire(price)), ("timeInForce", tif.value)]
    if intent.reduce_only:
        params.append(("reduceOnly", "true"))
    params += [("newClientOrderId", intent.client_order_id), ("newOrderRespType", "RESULT")]
    return OrderRequest("/fapi/v1/order", tuple(params), False, qty, price, None)


def _spot(intent: OrderIntent, qty: Decimal, price: Decimal | None,
          stop: Decimal | None) -> OrderRequest:
    venue_type = _SPOT_TYPE[intent.type]
    post_only = intent.type is OrderType.LIMIT and intent.time_in_force is TimeInForce.GTX
    if post_only:
        venue_type = "LIMIT_MAKER"
    params: list[tuple[str, ParamValue]] = [
        ("symbol", intent.symbol), ("side", intent.side.value), ("type", venue_type),
        ("quantity", to_wire(qty)),
    ]
    if price is not None:
        params.append(("price", to_wire(price)))
        if not post_only:
            params.append(("timeInForce", (intent.time_in_force or TimeInForce.GTC).value))
    if stop is not None:
        params.append(("stopPrice", to_wire(stop)))
    # Spot has no reduce-only flag: selling what is held is inherently reducing.
    params += [("newClientOrderId", intent.client_order_id), ("newOrderRespType", "FULL")]
    return OrderRequest("/api/v3/order", tuple(params), False, qty, price, stop)
