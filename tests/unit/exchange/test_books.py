"""The USD-M and spot books on their own: position arithmetic, fees, locks, matching rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from binbot.domain.market import Market
from binbot.exchange.accounts import AccountSpec
from binbot.exchange.klinedata import SymbolData
from binbot.exchange.orders.model import Ids
from binbot.exchange.orders.spot import SpotBook
from binbot.exchange.orders.usdm import FuturesBook
from binbot.exchange.orders.view import MarketView
from binbot.exchange.rest import BinanceError
from binbot.exchange.rules import SymbolRules

D = Decimal
SYMBOL = "FILUSDT"


class Venue:
    """A hand-driven market: set the price, collect the events."""

    def __init__(self, data: SymbolData) -> None:
        self.rules_by_symbol = {SYMBOL: SymbolRules.from_data(data)}
        self.price = D("3.000")
        self.now = 1_000
        self.events: list[tuple[Market, str, dict[str, Any]]] = []
        self.view = MarketView(self.rules, lambda _s: self.price, lambda: self.now, Ids(), self)

    def rules(self, symbol: str) -> SymbolRules:
        if symbol not in self.rules_by_symbol:
            raise BinanceError(-1121, "Invalid symbol.")
        return self.rules_by_symbol[symbol]

    def emit(self, venue: Market, api_key: str, event: dict[str, Any]) -> None:
        self.events.append((venue, api_key, event))

    def kinds(self) -> list[str]:
        return [e.get("e", "") for _, _, e in self.events]


@pytest.fixture
def venue(fil: SymbolData) -> Venue:
    return Venue(fil)


@pytest.fixture
def spec() -> AccountSpec:
    return AccountSpec(api_key="k", hmac_secret="s")


def order(side: str, qty: str, kind: str = "MARKET", **extra: str) -> dict[str, str]:
    return {"symbol": SYMBOL, "side": side, "type": kind, "quantity": qty, **extra}


def test_one_way_position_arithmetic(venue: Venue, spec: AccountSpec) -> None:
    book = FuturesBook(spec, venue.view)
    venue.price = D("3.000")
    book.place(order("BUY", "10"))
    venue.price = D("4.000")
    book.place(order("BUY", "10"))
    pos = book.position(SYMBOL)
    assert (pos.amt, pos.entry) == (10 + 10, D("3.5"))
    venue.price = D("5.000")
    book.place(order("SELL", "15"))
    assert book.fills[-1].realized_pnl == D("22.5")
    assert (pos.amt, pos.entry) == (5, D("3.5"))
    venue.price = D("2.000")
    book.place(order("SELL", "10"))
    assert book.fills[-1].realized_pnl == D("-7.5")  # closes 5 at a loss, opens 5 short
    assert (pos.amt, pos.entry) == (-5, D("2.000"))
    fees = sum(f.commission for f in book.fills)
    assert fees == (D("30") + D("40") + D("75") + D("20")) * D("0.0005")
    assert book.wallet["USDT"] == D(10000) + D("22.5") - D("7.5") - fees
    venue.price = D("1.500")
    assert book.unrealized(SYMBOL) == D("2.5")


def test_resting_limit_and_algo_trigger(venue: Venue, spec: AccountSpec) -> None:
    book = FuturesBook(spec, venue.view)
    placed = book.place(order("BUY", "10", "LIMIT", price="2.900", timeInForce="GTC"))
    assert placed.status == "NEW"
    book.on_trade(SYMBOL, D("2.950"))
    assert placed.status == "NEW"
    venue.now = 2_000
    book.on_trade(SYMBOL, D("2.900"))  # touching is enough
    assert placed.status == "FILLED"
    assert (placed.fills[0].maker, placed.fills[0].price, placed.fills[0].time) == (
        True, D("2.9"), 2_000)
    venue.price = D("2.900")
    algo = book.place_algo({"algoType": "CONDITIONAL", "symbol": SYMBOL, "side": "SELL",
                            "type": "STOP_MARKET", "triggerPrice": "2.800",
                            "closePosition": "true", "clientAlgoId": "sl"})
    book.on_trade(SYMBOL, D("2.810"))
    assert algo.status == "NEW"
    venue.price = D("2.790")
    book.on_trade(SYMBOL, D("2.790"))
    assert algo.status == "FINISHED"
    child = book.orders[algo.actual_order_id or 0]
    assert (child.client_order_id, child.orig_type, child.status) == ("sl", "STOP_MARKET",
                                                                      "FILLED")
    assert child.fills[0].price == D("2.790")
    assert book.position(SYMBOL).amt == 0
    assert venue.kinds()[-7:] == ["ALGO_UPDATE", "ORDER_TRADE_UPDATE", "ALGO_UPDATE",
                                  "TRADE_LITE", "ACCOUNT_UPDATE", "ORDER_TRADE_UPDATE",
                                  "ALGO_UPDATE"]


def test_take_profit_direction_and_close_position_without_position(
        venue: Venue, spec: AccountSpec) -> None:
    book = FuturesBook(spec, venue.view)
    tp = book.place_algo({"algoType": "CONDITIONAL", "symbol": SYMBOL, "side": "SELL",
                          "type": "TAKE_PROFIT_MARKET", "triggerPrice": "3.100",
                          "closePosition": "true"})
    book.on_trade(SYMBOL, D("2.5"))
    assert tp.status == "NEW"
    book.on_trade(SYMBOL, D("3.1"))
    assert tp.status == "EXPIRED"  # nothing to close
    assert book.orders == {}


def test_margin_and_reduce_only(venue: Venue, spec: AccountSpec) -> None:
    book = FuturesBook(spec, venue.view)
    with pytest.raises(BinanceError) as error:
        book.place(order("BUY", "70000"))  # 210000 notional at 20x needs 10500
    assert error.value.code == -2019
    book.place(order("BUY", "60000"))
    with pytest.raises(BinanceError) as error:
        book.place(order("BUY", "10000"))
    assert error.value.code == -2019
    book.place(order("SELL", "60000", reduceOnly="true"))  # closing needs no margin
    assert book.position(SYMBOL).amt == 0
    resting = book.place(order("SELL", "10", "LIMIT", price="3.100", timeInForce="GTC",
                               reduceOnly="false"))
    book.on_trade(SYMBOL, D("3.1"))
    assert resting.status == "FILLED"
    reduce = book.place(order("BUY", "20", "LIMIT", price="2.950", timeInForce="GTC",
                              reduceOnly="true"))
    book.on_trade(SYMBOL, D("2.95"))
    assert (reduce.status, reduce.executed) == ("EXPIRED", 10)


def test_spot_balances_locks_and_fees(venue: Venue) -> None:
    book = SpotBook(AccountSpec(api_key="k", hmac_secret="s", balances={"USDT": "100"}),
                    venue.view)
    with pytest.raises(BinanceError) as error:
        book.place(order("BUY", "40"))  # 120 USDT
    assert error.value.code == -2010
    bought = book.place(order("BUY", "20"))
    assert bought.fills[0].commission == D("0.02")
    assert (book.free["USDT"], book.free["FIL"]) == (D(40), D("19.98"))
    sell = book.place(order("SELL", "19.9", "LIMIT", price="3.500", timeInForce="GTC"))
    assert book.balance("FIL") == (D("0.08"), D("19.9"))
    book.on_trade(SYMBOL, D("3.4"))
    assert sell.status == "NEW"
    book.on_trade(SYMBOL, D("3.6"))  # crossing fills at the limit price
    assert sell.fills[0].price == D("3.5")
    quote = D("19.9") * D("3.5")
    assert book.balance("FIL") == (D("0.08"), 0)
    assert book.free["USDT"] == D(40) + quote - (quote * D("0.001")).quantize(D("0.00000001"))
    with pytest.raises(BinanceError):
        book.place(order("SELL", "0.1"))  # below MIN_NOTIONAL
    assert venue.kinds().count("executionReport") == 4  # NEW+TRADE twice
    assert "outboundAccountPosition" in venue.kinds()


def test_spot_min_notional_and_duplicate(venue: Venue, spec: AccountSpec) -> None:
    book = SpotBook(spec, venue.view)
    with pytest.raises(BinanceError) as error:
        book.place(order("BUY", "1"))
    assert (error.value.code, error.value.msg) == (-1013, "Filter failure: MIN_NOTIONAL")
    book.place(order("BUY", "10", "LIMIT", price="2.000", timeInForce="GTC",
                     newClientOrderId="x"))
    with pytest.raises(BinanceError) as error:
        book.place(order("BUY", "10", "LIMIT", price="2.000", timeInForce="GTC",
                         newClientOrderId="x"))
    assert error.value.msg == "Duplicate order sent."
