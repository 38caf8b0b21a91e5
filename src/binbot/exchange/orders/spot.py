"""One account's spot wallet and orders (balances free/locked).

Client order ids are unique only among OPEN orders: a duplicate of an open one is refused with
-2010 "Duplicate order sent.", an id whose order already filled or ended is accepted again.

Matching (same rules as USD-M, see ``orders.usdm``): MARKET fills at once at the last trade
price (``quantity`` or ``quoteOrderQty``); LIMIT fills at once as taker when marketable (IOC and
FOK expire when not), else rests and fills at its price when a trade touches it; LIMIT_MAKER
that would take is refused (-2010). STOP_LOSS / TAKE_PROFIT (and their _LIMIT forms) wait with
``isWorking`` false until a trade reaches ``stopPrice``, then act as MARKET (or LIMIT); one that
would trigger at once is refused (-2010). Resting orders lock the quote (buys, at their price)
or the base (sells). Commission: the account's rate, paid in the asset received.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from binbot.domain.market import Market
from binbot.exchange.accounts import AccountSpec
from binbot.exchange.decimals import ZERO, floor_to
from binbot.exchange.orders import filters, spot_wire
from binbot.exchange.orders.lookup import find_order
from binbot.exchange.orders.model import Fill, Order, limit_crossed, triggers
from binbot.exchange.orders.params import (
    SPOT_CLIENT_ID_RE,
    client_id,
    decimal_param,
    mandatory,
    optional,
    side_param,
)
from binbot.exchange.orders.view import MarketView
from binbot.exchange.rest import BinanceError
from binbot.exchange.rules import SymbolRules

_TYPES = frozenset({"MARKET", "LIMIT", "LIMIT_MAKER", "STOP_LOSS", "STOP_LOSS_LIMIT",
                    "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
_TIFS = frozenset({"GTC", "IOC", "FOK"})
_EIGHT = Decimal("0.00000001")


def _insufficient() -> BinanceError:
    return BinanceError(-2010, "Account has insufficient balance for requested action.")


class SpotBook:
    def __init__(self, spec: AccountSpec, view: MarketView) -> None:
        self.api_key = spec.api_key
        self.view = view
        self.free: dict[str, Decimal] = spec.spot_wallet()
        self.locked: dict[str, Decimal] = dict.fromkeys(self.free, ZERO)
        self.maker_fee = Decimal(spec.spot_maker_fee)
        self.taker_fee = Decimal(spec.spot_taker_fee)
        self.orders: dict[int, Order] = {}
        self.open_orders: dict[int, Order] = {}
        self.fills: list[Fill] = []
        self.update_time = 0
        self.can_withdraw = spec.permission("enableWithdrawals")

    # -- reading --------------------------------------------------------------------------------

    def has_resting(self, symbol: str) -> bool:
        return any(o.symbol == symbol for o in self.open_orders.values())

    def find_order(self, params: Mapping[str, str]) -> Order:
        return find_order(self.orders, self.view, params)

    def balance(self, asset: str) -> tuple[Decimal, Decimal]:
        return self.free.get(asset, ZERO), self.locked.get(asset, ZERO)

    # -- placing --------------------------------------------------------------------------------

    def place(self, params: Mapping[str, str]) -> Order:
        symbol = mandatory(params, "symbol")
        rules = self.view.rules(symbol)
        side = side_param(params)
        kind = mandatory(params, "type")
        if kind not in _TYPES:
            raise BinanceError(-1116, "Invalid orderType.")
        cid = client_id(params, "newClientOrderId", SPOT_CLIENT_ID_RE, "")
        if any(o.client_order_id == cid for o in self.open_orders.values()):
            raise BinanceError(-2010, "Duplicate order sent.")
        buy = side == "BUY"
        last = self.view.price(symbol)
        market = kind in ("MARKET", "STOP_LOSS", "TAKE_PROFIT")
        limit = not market
        tif, price, stop = self._terms(params, rules, kind, limit)
        qty, quote_qty = self._quantity(params, rules, kind, last)
        filters.spot_quantity(rules, qty, market=market)
        filters.spot_notional(rules, price if limit else (stop or last), qty)
        if stop and triggers(kind, buy, last, stop):
            raise BinanceError(-2010, "Stop price would trigger immediately.")
        marketable = market or limit_crossed(buy, last, price)
        if kind == "LIMIT_MAKER" and marketable:
            raise BinanceError(-2010, "Order would immediately match and take.")
        cost_price = price if limit else (stop or last)
        self._check_funds(rules, buy, qty, cost_price, quote_qty)
        now = self.view.now_ms()
        order = Order(Market.SPOT, symbol, self.view.ids.order(), cid, side, kind, tif, qty,
                      price, now, stop_price=stop, quote_order_qty=quote_qty, update_time=now,
                      working=not stop, working_time=now if not stop else -1)
        self.orders[order.order_id] = order
        self.open_orders[order.order_id] = order
        immediate = not stop and marketable
        if not immediate and not (tif in ("IOC", "FOK") and not stop):
            self._lock(order, rules, cost_price)
        self._emit(spot_wire.execution_report(order, rules, "NEW", None, now, self._exec_id()))
        if order.locked:
            self._emit_balances(rules, now)
        if immediate:
            self._fill(order, last, maker=False)
        elif tif in ("IOC", "FOK") and not stop:
            self._end(order, "EXPIRED")
        return order

    @staticmethod
    def _terms(params: Mapping[str, str], rules: SymbolRules, kind: str,
               limit: bool) -> tuple[str, Decimal, Decimal]:
        """timeInForce, price and stopPrice, each required or refused by the type."""
        tif = "GTC"
        price = stop = ZERO
        if kind in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
            tif = mandatory(params, "timeInForce")
            if tif not in _TIFS:
                raise BinanceError(-1115, "Invalid timeInForce.")
        elif optional(params, "timeInForce") is not None:
            raise BinanceError(-1106, "Parameter 'timeInForce' sent when not required.")
        if limit:
            price = decimal_param(params, "price")
            filters.spot_price(rules, price)
        elif optional(params, "price") is not None:
            raise BinanceError(-1106, "Parameter 'price' sent when not required.")
        if kind.startswith(("STOP_LOSS", "TAKE_PROFIT")):
            stop = decimal_param(params, "stopPrice")
            filters.spot_price(rules, stop, "stopPrice")
        return tif, price, stop

    @staticmethod
    def _quantity(params: Mapping[str, str], rules: SymbolRules, kind: str,
                  last: Decimal) -> tuple[Decimal, Decimal]:
        """(quantity, quoteOrderQty); a MARKET order may give either."""
        if kind == "MARKET" and optional(params, "quoteOrderQty") is not None:
            if optional(params, "quantity") is not None:
                raise BinanceError(-1106, "Parameter 'quoteOrderQty' sent when not required.")
            quote_qty = decimal_param(params, "quoteOrderQty")
            qty = floor_to(quote_qty / last, rules.step) if last > 0 else ZERO
            if qty <= 0:
                raise BinanceError(-1013, "Filter failure: LOT_SIZE")
            return qty, quote_qty
        if kind == "MARKET" and optional(params, "quantity") is None:
            raise BinanceError(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but "
                                      "both were empty/null!")
        return decimal_param(params, "quantity"), ZERO

    def _check_funds(self, rules: SymbolRules, buy: bool, qty: Decimal, price: Decimal,
                     quote_qty: Decimal) -> None:
        if buy:
            need = quote_qty if quote_qty else qty * price
            if self.free.get(rules.quote, ZERO) < need:
                raise _insufficient()
        elif self.free.get(rules.base, ZERO) < qty:
            raise _insufficient()

    def _lock(self, order: Order, rules: SymbolRules, price: Decimal) -> None:
        asset, amount = (rules.quote, order.quantity * price) if order.buy else (
            rules.base, order.quantity)
        self.free[asset] = self.free.get(asset, ZERO) - amount
        self.locked[asset] = self.locked.get(asset, ZERO) + amount
        order.locked, order.locked_asset = amount, asset

    def _unlock(self, order: Order) -> None:
        if order.locked:
            asset = order.locked_asset
            self.locked[asset] -= order.locked
            self.free[asset] = self.free.get(asset, ZERO) + order.locked
            order.locked = ZERO

    # -- ending ---------------------------------------------------------------------------------

    def _end(self, order: Order, status: str, cancel_id: str | None = None) -> None:
        now = self.view.now_ms()
        rules = self.view.rules(order.symbol)
        had_lock = bool(order.locked)
        self._unlock(order)
        order.status = status
        order.update_time = now
        self.open_orders.pop(order.order_id, None)
        self._emit(spot_wire.execution_report(order, rules, status, None, now, self._exec_id(),
                                              cancel_id))
        if had_lock:
            self._emit_balances(rules, now)

    def cancel(self, params: Mapping[str, str]) -> tuple[Order, str]:
        try:
            order = self.find_order(params)
        except BinanceError as e:
            if e.code == -2013:
                raise BinanceError(-2011, "Unknown order sent.") from None
            raise
        if not order.is_open:
            raise BinanceError(-2011, "Unknown order sent.")
        cancel_id = client_id(params, "newClientOrderId", SPOT_CLIENT_ID_RE, "")
        self._end(order, "CANCELED", cancel_id)
        return order, cancel_id

    def cancel_all(self, symbol: str) -> list[tuple[Order, str]]:
        self.view.rules(symbol)
        out = []
        for order in [o for o in self.open_orders.values() if o.symbol == symbol]:
            cancel_id = client_id({}, "newClientOrderId", SPOT_CLIENT_ID_RE, "")
            self._end(order, "CANCELED", cancel_id)
            out.append((order, cancel_id))
        return out

    # -- fills ----------------------------------------------------------------------------------

    def _fill(self, order: Order, price: Decimal, maker: bool) -> None:
        rules = self.view.rules(order.symbol)
        qty = order.remaining
        quote = price * qty
        self._unlock(order)
        if order.buy and self.free.get(rules.quote, ZERO) < quote:
            self._end(order, "EXPIRED")  # a triggered stop whose price moved past the funds
            return
        if not order.buy and self.free.get(rules.base, ZERO) < qty:
            self._end(order, "EXPIRED")
            return
        now = self.view.now_ms()
        rate = self.maker_fee if maker else self.taker_fee
        if order.buy:
            commission = (qty * rate).quantize(_EIGHT)
            fee_asset = rules.base
            self.free[rules.quote] = self.free.get(rules.quote, ZERO) - quote
            self.free[rules.base] = self.free.get(rules.base, ZERO) + qty - commission
        else:
            commission = (quote * rate).quantize(_EIGHT)
            fee_asset = rules.quote
            self.free[rules.base] = self.free.get(rules.base, ZERO) - qty
            self.free[rules.quote] = self.free.get(rules.quote, ZERO) + quote - commission
        for asset in (rules.base, rules.quote):
            self.locked.setdefault(asset, ZERO)
        fill = Fill(self.view.ids.trade(), order.order_id, order.symbol, order.side, price, qty,
                    quote, commission, fee_asset, ZERO, maker, now)
        self.fills.append(fill)
        order.fills.append(fill)
        order.executed += qty
        order.cum_quote += quote
        order.update_time = now
        order.status = "FILLED"
        order.working = True
        if order.working_time < 0:
            order.working_time = now
        self.open_orders.pop(order.order_id, None)
        self.update_time = now
        self._emit(spot_wire.execution_report(order, rules, "TRADE", fill, now, self._exec_id()))
        self._emit_balances(rules, now)

    def on_trade(self, symbol: str, price: Decimal) -> None:
        for order in [o for o in self.open_orders.values() if o.symbol == symbol]:
            if not order.is_open:
                continue
            if not order.working:
                if triggers(order.type, order.buy, price, order.stop_price):
                    self._trigger(order, price)
            elif limit_crossed(order.buy, price, order.price):
                self._fill(order, order.price, maker=True)

    def _trigger(self, order: Order, price: Decimal) -> None:
        now = self.view.now_ms()
        order.working = True
        order.working_time = now
        if order.type in ("STOP_LOSS", "TAKE_PROFIT") or limit_crossed(order.buy, price,
                                                                       order.price):
            self._fill(order, price, maker=False)
        elif order.buy:
            # Now a resting limit: its lock moves from the stop price to the limit price.
            rules = self.view.rules(order.symbol)
            self._unlock(order)
            self._lock(order, rules, order.price)

    # -- events ---------------------------------------------------------------------------------

    def _exec_id(self) -> int:
        return self.view.ids.execution()

    def deposit(self, asset: str, amount: Decimal) -> None:
        """Credit (or debit, when negative) a balance: ``balanceUpdate`` then the position."""
        now = self.view.now_ms()
        self.free[asset] = self.free.get(asset, ZERO) + amount
        self.locked.setdefault(asset, ZERO)
        self._emit(spot_wire.balance_update(asset, amount, now))
        self._emit(spot_wire.account_position([(asset, self.free[asset], self.locked[asset])],
                                              now))

    def _emit_balances(self, rules: SymbolRules, now: int) -> None:
        assets = [rules.base, rules.quote]
        rows = [(a, self.free.get(a, ZERO), self.locked.get(a, ZERO)) for a in assets]
        self._emit(spot_wire.account_position(rows, now))

    def _emit(self, event: dict[str, Any]) -> None:
        self.view.sink.emit(Market.SPOT, self.api_key, event)
