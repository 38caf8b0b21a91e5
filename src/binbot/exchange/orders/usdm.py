"""One account's USD-M futures: wallet, one-way positions, leverage, orders and algo orders.

Matching against the replay (the same rules as binbot's paper simulator, written separately):
- MARKET fills at once, taker, at the last trade price.
- LIMIT that would cross fills at once, taker, at the last price; GTX is then refused (-5022),
  FOK is refused when not marketable (-5021), IOC expires; otherwise it rests and fills, maker,
  at its limit price when a replayed trade touches or crosses it.
- Algo (conditional) orders: STOP_MARKET / STOP trigger when the price reaches the trigger
  against the side (buy: price >= trigger), TAKE_PROFIT_MARKET / TAKE_PROFIT in favour; one
  that would trigger at once is refused (-2021). Triggering creates a child order (MARKET, or
  LIMIT at ``price``) whose ``clientOrderId`` is the ``clientAlgoId``.
- Reduce-only orders never increase the position: capped to it when they fill, the rest expires.
- Fees: maker/taker rate of the account on the quote notional, paid from the wallet;
  realised PnL moves the wallet. No funding and no liquidation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from binbot.domain.market import Market
from binbot.exchange.accounts import AccountSpec
from binbot.exchange.decimals import ZERO
from binbot.exchange.orders import filters, usdm_wire
from binbot.exchange.orders.lookup import find_order
from binbot.exchange.orders.model import AlgoOrder, Fill, Order, limit_crossed, triggers
from binbot.exchange.orders.params import (
    USDM_CLIENT_ID_RE,
    bool_param,
    client_id,
    decimal_param,
    int_param,
    mandatory,
    optional,
    side_param,
)
from binbot.exchange.orders.view import MarketView
from binbot.exchange.rest import BinanceError
from binbot.exchange.rules import SymbolRules

CONDITIONAL_TYPES = frozenset({"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
                               "TRAILING_STOP_MARKET"})
_ALGO_TYPES = frozenset({"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"})
_TIFS = frozenset({"GTC", "IOC", "FOK", "GTX"})
DEFAULT_LEVERAGE = 20
MAX_LEVERAGE = 125


@dataclass(slots=True)
class Position:
    amt: Decimal = ZERO
    entry: Decimal = ZERO
    fees_paid: Decimal = ZERO  # commissions of the open position (for the break-even price)
    update_time: int = 0


@dataclass(slots=True)
class SymbolSettings:
    leverage: int = DEFAULT_LEVERAGE
    margin_type: str = "cross"  # cross | isolated


class FuturesBook:
    def __init__(self, spec: AccountSpec, view: MarketView) -> None:
        self.api_key = spec.api_key
        self.view = view
        self.wallet: dict[str, Decimal] = spec.futures_wallet()
        self.maker_fee = Decimal(spec.usdm_maker_fee)
        self.taker_fee = Decimal(spec.usdm_taker_fee)
        self.positions: dict[str, Position] = {}
        self.settings: dict[str, SymbolSettings] = {}
        self.orders: dict[int, Order] = {}
        self.open_orders: dict[int, Order] = {}
        self.algos: dict[int, AlgoOrder] = {}
        self.open_algos: dict[int, AlgoOrder] = {}
        self.fills: list[Fill] = []
        self.dual_side = False
        self.update_time = 0
        self._algo_of_child: dict[int, AlgoOrder] = {}

    # -- reading --------------------------------------------------------------------------------

    def position(self, symbol: str) -> Position:
        return self.positions.setdefault(symbol, Position())

    def setting(self, symbol: str) -> SymbolSettings:
        return self.settings.setdefault(symbol, SymbolSettings())

    def has_resting(self, symbol: str) -> bool:
        return any(o.symbol == symbol for o in self.open_orders.values()) or any(
            a.symbol == symbol for a in self.open_algos.values())

    def find_order(self, params: Mapping[str, str]) -> Order:
        return find_order(self.orders, self.view, params)

    def find_algo(self, params: Mapping[str, str]) -> AlgoOrder:
        algo_id = int_param(params, "algoId")
        client = optional(params, "clientAlgoId")
        if algo_id is None and client is None:
            raise BinanceError(-1102, "Param 'clientAlgoId' or 'algoId' must be sent, but both "
                                      "were empty/null!")
        if algo_id is not None:
            algo = self.algos.get(algo_id)
            if algo is not None and (client is None or algo.client_algo_id == client):
                return algo
        else:
            for algo in reversed(self.algos.values()):
                if algo.client_algo_id == client:
                    return algo
        raise BinanceError(-2013, "Order does not exist.")

    def unrealized(self, symbol: str) -> Decimal:
        pos = self.positions.get(symbol)
        if pos is None or pos.amt == 0:
            return ZERO
        return pos.amt * (self.view.price(symbol) - pos.entry)

    def position_margin(self, symbol: str) -> Decimal:
        pos = self.positions.get(symbol)
        if pos is None or pos.amt == 0:
            return ZERO
        return abs(pos.amt) * self.view.price(symbol) / self.setting(symbol).leverage

    def order_margin(self, symbol: str | None = None) -> Decimal:
        total = ZERO
        for order in self.open_orders.values():
            if (symbol is None or order.symbol == symbol) and not order.reduce_only:
                total += order.remaining * order.price / self.setting(order.symbol).leverage
        return total

    def available(self, asset: str) -> Decimal:
        total = self.wallet.get(asset, ZERO)
        for symbol in self.positions:
            if self.view.rules(symbol).quote == asset:
                total += self.unrealized(symbol) - self.position_margin(symbol)
        for order in self.open_orders.values():
            if self.view.rules(order.symbol).quote == asset and not order.reduce_only:
                total -= order.remaining * order.price / self.setting(order.symbol).leverage
        return total

    # -- settings -------------------------------------------------------------------------------

    def set_leverage(self, params: Mapping[str, str]) -> dict[str, Any]:
        symbol = mandatory(params, "symbol")
        self.view.rules(symbol)
        value = int_param(params, "leverage")
        if value is None:
            mandatory(params, "leverage")
            raise AssertionError("unreachable")
        if not 1 <= value <= MAX_LEVERAGE:
            raise BinanceError(-4028, f"Leverage {value} is not valid")
        self.setting(symbol).leverage = value
        return {"leverage": value, "maxNotionalValue": usdm_wire.max_notional(value),
                "symbol": symbol}

    def set_margin_type(self, params: Mapping[str, str]) -> dict[str, Any]:
        symbol = mandatory(params, "symbol")
        self.view.rules(symbol)
        wanted = mandatory(params, "marginType")
        mapping = {"ISOLATED": "isolated", "CROSSED": "cross"}
        if wanted not in mapping:
            raise BinanceError(-1100, "Illegal characters found in parameter 'marginType'; "
                                      "legal range is 'ISOLATED, CROSSED'.")
        setting = self.setting(symbol)
        if setting.margin_type == mapping[wanted]:
            raise BinanceError(-4046, "No need to change margin type.")
        if self.position(symbol).amt != 0:
            raise BinanceError(-4048, "Margin type cannot be changed if there exists position.")
        if any(o.symbol == symbol for o in self.open_orders.values()):
            raise BinanceError(-4047, "Margin type cannot be changed if there exists open "
                                      "orders.")
        setting.margin_type = mapping[wanted]
        return {"code": 200, "msg": "success"}

    def set_dual_side(self, params: Mapping[str, str]) -> dict[str, Any]:
        wanted = bool_param(params, "dualSidePosition")
        if mandatory(params, "dualSidePosition") and wanted == self.dual_side:
            raise BinanceError(-4059, "No need to change position side.")
        if self.open_orders or any(p.amt != 0 for p in self.positions.values()):
            raise BinanceError(-4068, "Position side cannot be changed if there exists "
                                      "position.")
        self.dual_side = wanted
        return {"code": 200, "msg": "success"}

    # -- orders ---------------------------------------------------------------------------------

    def _position_side(self, params: Mapping[str, str]) -> None:
        side = optional(params, "positionSide") or "BOTH"
        if side not in ("BOTH", "LONG", "SHORT"):
            raise BinanceError(-1100, "Illegal characters found in parameter 'positionSide'; "
                                      "legal range is 'BOTH, LONG, SHORT'.")
        # Hedge mode is not simulated: its orders are refused like a mismatched side.
        if self.dual_side or side != "BOTH":
            raise BinanceError(-4061, "Order's position side does not match user's setting.")

    def _reduce_check(self, symbol: str, buy: bool) -> None:
        amt = self.position(symbol).amt
        if (buy and amt >= 0) or (not buy and amt <= 0):
            raise BinanceError(-2022, "ReduceOnly Order is rejected.")

    def _margin_check(self, symbol: str, rules: SymbolRules, buy: bool, qty: Decimal,
                      price: Decimal) -> None:
        amt = self.position(symbol).amt
        opposite = (buy and amt < 0) or (not buy and amt > 0)
        increase = max(ZERO, qty - abs(amt)) if opposite else qty
        if increase == 0:
            return
        required = increase * price / self.setting(symbol).leverage
        if required > self.available(rules.quote):
            raise BinanceError(-2019, "Margin is insufficient.")

    def place(self, params: Mapping[str, str]) -> Order:
        symbol = mandatory(params, "symbol")
        rules = self.view.rules(symbol)
        side = side_param(params)
        kind = mandatory(params, "type")
        if kind in CONDITIONAL_TYPES:
            raise BinanceError(-4120, "Order type not supported for this endpoint. Please use "
                                      "the Algo Order API endpoints instead.")
        if kind not in ("MARKET", "LIMIT"):
            raise BinanceError(-1116, "Invalid orderType.")
        self._position_side(params)
        cid = client_id(params, "newClientOrderId", USDM_CLIENT_ID_RE, "")
        if any(o.client_order_id == cid for o in self.open_orders.values()):
            raise BinanceError(-4116, "ClientOrderId is duplicated.")
        if bool_param(params, "closePosition"):
            raise BinanceError(-1106, "Parameter 'closePosition' sent when not required.")
        qty = decimal_param(params, "quantity")
        reduce_only = bool_param(params, "reduceOnly")
        buy = side == "BUY"
        last = self.view.price(symbol)
        if kind == "MARKET":
            tif, price, marketable = self._market_terms(params, rules, qty)
            notional_price = last
        else:
            tif, price, marketable = self._limit_terms(params, rules, qty, buy, last)
            notional_price = price
        filters.usdm_notional(rules, notional_price, qty, reduce_only)
        if reduce_only:
            self._reduce_check(symbol, buy)
        else:
            self._margin_check(symbol, rules, buy, qty, notional_price)
        now = self.view.now_ms()
        order = Order(Market.USDM, symbol, self.view.ids.order(), cid, side, kind, tif, qty,
                      price, now, reduce_only=reduce_only, update_time=now, working_time=now)
        self._accept(order)
        if kind == "MARKET" or marketable:
            self._fill(order, last, maker=False)
        elif tif == "IOC":
            self._finish(order, "EXPIRED")
        return order

    @staticmethod
    def _market_terms(params: Mapping[str, str], rules: SymbolRules,
                      qty: Decimal) -> tuple[str, Decimal, bool]:
        if optional(params, "price") is not None:
            raise BinanceError(-1106, "Parameter 'price' sent when not required.")
        if optional(params, "timeInForce") is not None:
            raise BinanceError(-1106, "Parameter 'timeInForce' sent when not required.")
        filters.usdm_quantity(rules, qty, market=True)
        return "GTC", ZERO, True

    @staticmethod
    def _limit_terms(params: Mapping[str, str], rules: SymbolRules, qty: Decimal, buy: bool,
                     last: Decimal) -> tuple[str, Decimal, bool]:
        tif = mandatory(params, "timeInForce")
        if tif not in _TIFS:
            raise BinanceError(-1115, "Invalid timeInForce.")
        price = decimal_param(params, "price")
        filters.usdm_price(rules, price, last)
        filters.usdm_quantity(rules, qty, market=False)
        marketable = limit_crossed(buy, last, price)
        if marketable and tif == "GTX":
            raise BinanceError(-5022, "Due to the order could not be executed as maker, the "
                                      "Post Only order will be rejected. The order will not be "
                                      "recorded in the order history")
        if not marketable and tif == "FOK":
            raise BinanceError(-5021, "Due to the order could not be filled immediately, the FOK "
                                      "order has been rejected. The order will not be recorded "
                                      "in the order history")
        return tif, price, marketable

    def _accept(self, order: Order) -> None:
        self.orders[order.order_id] = order
        self.open_orders[order.order_id] = order
        self._emit(usdm_wire.order_update(order, self.view.rules(order.symbol), "NEW", None,
                                          self.view.now_ms()))

    def _finish(self, order: Order, status: str) -> None:
        now = self.view.now_ms()
        order.status = status
        order.update_time = now
        self.open_orders.pop(order.order_id, None)
        self._emit(usdm_wire.order_update(order, self.view.rules(order.symbol), status, None,
                                          now))
        self._child_done(order)

    def cancel(self, params: Mapping[str, str]) -> Order:
        try:
            order = self.find_order(params)
        except BinanceError as e:
            if e.code == -2013:
                raise BinanceError(-2011, "Unknown order sent.") from None
            raise
        if not order.is_open:
            raise BinanceError(-2011, "Unknown order sent.")
        self._finish(order, "CANCELED")
        return order

    def cancel_all(self, symbol: str) -> int:
        self.view.rules(symbol)
        chosen = [o for o in self.open_orders.values() if o.symbol == symbol]
        for order in chosen:
            self._finish(order, "CANCELED")
        for algo in [a for a in self.open_algos.values() if a.symbol == symbol]:
            self._end_algo(algo, "CANCELED")
        return len(chosen)

    # -- fills ----------------------------------------------------------------------------------

    def _fill(self, order: Order, price: Decimal, maker: bool) -> None:
        rules = self.view.rules(order.symbol)
        qty = order.remaining
        pos = self.position(order.symbol)
        if order.reduce_only:
            reducing = (order.buy and pos.amt < 0) or (not order.buy and pos.amt > 0)
            qty = min(qty, abs(pos.amt)) if reducing else ZERO
            if qty == 0:
                self._finish(order, "EXPIRED")
                return
        now = self.view.now_ms()
        fee_rate = self.maker_fee if maker else self.taker_fee
        quote = price * qty
        commission = (quote * fee_rate).quantize(Decimal("0.00000001"))
        pnl = self._apply_position(pos, order.buy, qty, price, commission, now)
        asset = rules.quote
        self.wallet[asset] = self.wallet.get(asset, ZERO) + pnl - commission
        self.update_time = now
        fill = Fill(self.view.ids.trade(), order.order_id, order.symbol, order.side, price, qty,
                    quote, commission, asset, pnl, maker, now)
        self.fills.append(fill)
        order.fills.append(fill)
        order.executed += qty
        order.cum_quote += quote
        order.update_time = now
        done = order.executed >= order.quantity
        order.status = "FILLED" if done else "PARTIALLY_FILLED"
        self._emit(usdm_wire.trade_lite(order, fill, rules))
        self._emit(usdm_wire.account_update(self, order.symbol, "ORDER", now))
        self._emit(usdm_wire.order_update(order, rules, "TRADE", fill, now))
        if done:
            self.open_orders.pop(order.order_id, None)
            self._child_done(order)
        elif order.reduce_only:
            self._finish(order, "EXPIRED")  # the rest would increase the position

    @staticmethod
    def _apply_position(pos: Position, buy: bool, qty: Decimal, price: Decimal,
                        commission: Decimal, now: int) -> Decimal:
        """Move the one-way position by a fill; returns the realised PnL."""
        delta = qty if buy else -qty
        old = pos.amt
        pnl = ZERO
        pos.update_time = now
        if old == 0 or (old > 0) == (delta > 0):
            size = abs(old) + qty
            pos.entry = (abs(old) * pos.entry + qty * price) / size
            pos.amt = old + delta
            pos.fees_paid += commission
            return pnl
        closed = min(qty, abs(old))
        pnl = (price - pos.entry) * closed * (1 if old > 0 else -1)
        pos.fees_paid = pos.fees_paid * (abs(old) - closed) / abs(old)
        pos.amt = old + delta
        if pos.amt == 0:
            pos.entry = ZERO
            pos.fees_paid = ZERO
        elif (pos.amt > 0) != (old > 0):  # flipped: the rest opened at this price
            pos.entry = price
            pos.fees_paid = commission * (qty - closed) / qty
        return pnl

    def on_trade(self, symbol: str, price: Decimal) -> None:
        for order in [o for o in self.open_orders.values() if o.symbol == symbol]:
            if order.is_open and limit_crossed(order.buy, price, order.price):
                self._fill(order, order.price, maker=True)
        for algo in [a for a in self.open_algos.values() if a.symbol == symbol]:
            if algo.status == "NEW" and triggers(algo.type, algo.buy, price, algo.trigger_price):
                self._trigger(algo, price)

    # -- algo orders ----------------------------------------------------------------------------

    def place_algo(self, params: Mapping[str, str]) -> AlgoOrder:
        algo_type = mandatory(params, "algoType")
        if algo_type != "CONDITIONAL":
            raise BinanceError(-1100, "Illegal characters found in parameter 'algoType'; legal "
                                      "range is 'CONDITIONAL'.")
        symbol = mandatory(params, "symbol")
        rules = self.view.rules(symbol)
        side = side_param(params)
        kind = mandatory(params, "type")
        if kind not in _ALGO_TYPES:
            raise BinanceError(-1116, "Invalid orderType.")
        self._position_side(params)
        cid = client_id(params, "clientAlgoId", USDM_CLIENT_ID_RE, "")
        if any(a.client_algo_id == cid for a in self.open_algos.values()):
            raise BinanceError(-4116, "ClientOrderId is duplicated.")
        close_position = bool_param(params, "closePosition")
        reduce_only = bool_param(params, "reduceOnly")
        if close_position:
            if optional(params, "quantity") is not None:
                raise BinanceError(-1106, "Parameter 'quantity' sent when not required.")
            if reduce_only:
                raise BinanceError(-1106, "Parameter 'reduceOnly' sent when not required.")
            qty = ZERO
        else:
            qty = decimal_param(params, "quantity")
            filters.usdm_quantity(rules, qty, market=kind.endswith("MARKET"))
        trigger = decimal_param(params, "triggerPrice")
        filters.usdm_price(rules, trigger, None)
        price = ZERO
        tif = optional(params, "timeInForce") or "GTC"
        if tif not in _TIFS:
            raise BinanceError(-1115, "Invalid timeInForce.")
        if not kind.endswith("MARKET"):
            price = decimal_param(params, "price")
            filters.usdm_price(rules, price, None)
        working = optional(params, "workingType") or "CONTRACT_PRICE"
        if working not in ("CONTRACT_PRICE", "MARK_PRICE"):
            raise BinanceError(-1100, "Illegal characters found in parameter 'workingType'.")
        buy = side == "BUY"
        if triggers(kind, buy, self.view.price(symbol), trigger):
            raise BinanceError(-2021, "Order would immediately trigger.")
        if not close_position:
            filters.usdm_notional(rules, price or trigger, qty, reduce_only)
        now = self.view.now_ms()
        algo = AlgoOrder(self.view.ids.algo(), cid, symbol, side, kind, qty, trigger, price, tif,
                         working, reduce_only, close_position, bool_param(params, "priceProtect"),
                         now, now)
        self.algos[algo.algo_id] = algo
        self.open_algos[algo.algo_id] = algo
        self._emit(usdm_wire.algo_update(algo, rules, now))
        return algo

    def cancel_algo(self, params: Mapping[str, str]) -> AlgoOrder:
        try:
            algo = self.find_algo(params)
        except BinanceError as e:
            if e.code == -2013:
                raise BinanceError(-2011, "Unknown order sent.") from None
            raise
        if not algo.is_open:
            raise BinanceError(-2011, "Unknown order sent.")
        self._end_algo(algo, "CANCELED")
        return algo

    def _end_algo(self, algo: AlgoOrder, status: str) -> None:
        now = self.view.now_ms()
        algo.status = status
        algo.update_time = now
        self.open_algos.pop(algo.algo_id, None)
        self._emit(usdm_wire.algo_update(algo, self.view.rules(algo.symbol), now))

    def _trigger(self, algo: AlgoOrder, price: Decimal) -> None:
        rules = self.view.rules(algo.symbol)
        now = self.view.now_ms()
        algo.status = "TRIGGERING"
        algo.trigger_time = now
        algo.update_time = now
        self._emit(usdm_wire.algo_update(algo, rules, now))
        qty = algo.quantity
        reduce_only = algo.reduce_only
        if algo.close_position:
            amt = self.position(algo.symbol).amt
            closing = (algo.buy and amt < 0) or (not algo.buy and amt > 0)
            qty = abs(amt) if closing else ZERO
            reduce_only = True
        if qty == 0:
            self._end_algo(algo, "EXPIRED")
            return
        market = algo.type.endswith("MARKET")
        child = Order(Market.USDM, algo.symbol, self.view.ids.order(), algo.client_algo_id,
                      algo.side, "MARKET" if market else "LIMIT", algo.time_in_force, qty,
                      ZERO if market else algo.price, now, stop_price=algo.trigger_price,
                      reduce_only=reduce_only, close_position=algo.close_position,
                      update_time=now, working_time=now, algo_id=algo.algo_id,
                      orig_type=algo.type)
        self._accept(child)
        algo.status = "TRIGGERED"
        algo.actual_order_id = child.order_id
        self._algo_of_child[child.order_id] = algo
        self.open_algos.pop(algo.algo_id, None)
        self._emit(usdm_wire.algo_update(algo, rules, now))
        if market or limit_crossed(child.buy, price, child.price):
            self._fill(child, price, maker=False)

    def _child_done(self, order: Order) -> None:
        algo = self._algo_of_child.pop(order.order_id, None)
        if algo is None:
            return
        algo.actual_price = order.avg_price
        algo.actual_qty = order.executed
        algo.status = "FINISHED"
        algo.update_time = order.update_time
        self._emit(usdm_wire.algo_update(algo, self.view.rules(algo.symbol), order.update_time))

    def _emit(self, event: dict[str, Any]) -> None:
        self.view.sink.emit(Market.USDM, self.api_key, event)
