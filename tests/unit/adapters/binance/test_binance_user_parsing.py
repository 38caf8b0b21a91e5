"""Every user-data fixture through the decoder, checked field by field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from binbot.adapters.binance import account_parsing as parse
from binbot.adapters.binance.user_decoder import (
    ListenKeyExpired,
    StreamTerminated,
    Unrecognised,
    WsApiReply,
    decode_user_message,
)
from binbot.domain.account import AccountUpdate, Balance, BalanceDelta, PositionSnapshot
from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.domain.orders import OrderEvent, OrderStatus
from tests.unit.adapters.binance.fakes import FIXTURES, fixture_bytes

S = OrderStatus
D = Decimal
FUT = "futures/user_data_json/"
SPOT = "spot/user_data_json/"
REC = "recorded/ws_messages/"


def report(path: str) -> parse.OrderReport:
    item = decode_user_message(fixture_bytes(path))
    assert isinstance(item, parse.OrderReport)
    return item


def test_every_user_fixture_decodes() -> None:
    paths = [*sorted((FIXTURES / "futures/user_data_json").glob("*.json")),
             *sorted((FIXTURES / "spot/user_data_json").glob("*.json")),
             *sorted((FIXTURES / "recorded/ws_messages").glob("ws_futures_*.json")),
             *sorted((FIXTURES / "recorded/ws_messages").glob("ws_spot_execution_report_*"))]
    assert len(paths) > 50
    kinds = {type(decode_user_message(p.read_bytes())).__name__ for p in paths}
    # Market-data fixtures among ws_futures_* (book ticker, depth, 24h ticker) are not user
    # events: they come out unrecognised instead of breaking the stream.
    assert kinds == {"OrderReport", "AlgoReport", "TradeNotice", "AccountUpdate",
                     "BalanceDelta", "Unrecognised"}


def test_futures_trade_update() -> None:
    r = report(FUT + "order_update_trade.json")
    assert (r.market, r.symbol, r.client_order_id, r.exchange_order_id) == (
        Market.USDM, "BTCUSDT", "TEST", "8886774")
    assert (r.side, r.order_type, r.execution, r.status) == (
        "BUY", "LIMIT", "TRADE", S.PARTIALLY_FILLED)
    assert (r.quantity, r.cumulative_qty, r.realised_pnl, r.reduce_only) == (
        D("0.001"), D("0.001"), D("12.34"), False)
    assert r.fill == Fill("12345678", "TEST", "BTCUSDT", "BUY", D("7100.50"), D("0.001"),
                          D("0.01000000"), "USDT", True, 1568879465651)
    assert r.event() == OrderEvent("TEST", S.PARTIALLY_FILLED, 1568879465651, "8886774",
                                   r.fill)
    assert not r.fill_incomplete
    assert r.foreign == ""


def test_futures_new_trailing_stop_has_no_fill() -> None:
    r = report(FUT + "order_update_new.json")
    assert (r.status, r.execution, r.order_type, r.fill) == (
        S.NEW, "NEW", "TRAILING_STOP_MARKET", None)
    assert r.quantity == D("0.001")


def test_futures_partial_of_larger_order() -> None:
    r = report(FUT + "order_update_trade_partial.json")
    assert (r.quantity, r.cumulative_qty, r.status) == (D("0.002"), D("0.001"),
                                                        S.PARTIALLY_FILLED)
    assert r.fill is not None
    assert r.fill.quantity == D("0.001")


@pytest.mark.parametrize(("path", "kind", "oid", "trade", "qty", "price", "fee", "asset"), [
    (FUT + "order_update_calculated.json", "liquidation", "8886999", "12345999", "0.014",
     "9910.12", "0.06937084", "USDT"),
    (FUT + "order_update_adl.json", "adl", "8887001", "12346001", "0.005", "42000.00",
     "0.10500000", "USDT"),
    (FUT + "order_update_insurance.json", "liquidation", "8887003", "12346003", "0.020",
     "45000.00", "0.45000000", "USDT"),
    (FUT + "order_update_settlement.json", "settlement", "8887002", "12346002", "0.010",
     "50000.00", "0.25000000", "USDT"),
    (FUT + "order_update_delivery.json", "delivery", "8887003", "12346003", "1", "70000.0",
     "0", ""),
    (REC + "ws_futures_order_update_liquidation.json", "liquidation", "9876543210",
     "1122334455", "0.100", "50000.00", "5.00000000", "USDT"),
    (REC + "ws_futures_order_update_adl.json", "adl", "8765432109", "2233445566", "1.000",
     "2500.00", "2.50000000", "USDT"),
    (REC + "ws_futures_order_update_adl_filled.json", "adl", "8765432109", "2233445566",
     "1.000", "2500.00", "2.50000000", "USDT"),
    (REC + "ws_futures_order_update_settlement.json", "settlement", "6543210987",
     "4455667788", "0.050", "51000.00", "2.55000000", "USDT"),
])
def test_foreign_futures_fills_are_external(path: str, kind: str, oid: str, trade: str,
                                            qty: str, price: str, fee: str,
                                            asset: str) -> None:
    r = report(path)
    assert r.foreign == kind
    event = r.external_event()
    assert event.status is S.EXTERNAL
    assert event.client_order_id == f"ext-{oid}"
    assert event.exchange_order_id == oid
    assert event.fill is not None
    assert (event.fill.trade_id, event.fill.quantity, event.fill.price, event.fill.fee,
            event.fill.fee_asset, event.fill.client_order_id) == (
        trade, D(qty), D(price), D(fee), asset, f"ext-{oid}")
    assert r.client_order_id in event.reason


def test_adl_and_insurance_statuses_count_as_filled() -> None:
    assert report(FUT + "order_update_adl.json").status is S.FILLED  # X = NEW_ADL
    assert report(FUT + "order_update_insurance.json").status is S.FILLED  # NEW_INSURANCE


def test_liquidation_with_zero_quantity_and_null_fees_has_no_fill() -> None:
    r = report(REC + "ws_futures_order_update_liquidation_zero_qty.json")
    assert (r.foreign, r.status, r.fill, r.fill_incomplete) == ("liquidation", S.FILLED, None,
                                                                False)
    assert r.external_event().client_order_id == "ext-7654321098"


def test_pending_liquidation_without_trade() -> None:
    r = report(FUT + "order_update_calculated_pending.json")
    assert (r.foreign, r.status, r.fill, r.fill_incomplete) == ("liquidation", S.NEW, None,
                                                                False)


@pytest.mark.parametrize(("name", "otype", "status", "reduce"), [
    ("ws_futures_order_update_new_price_match.json", "LIMIT", S.NEW, False),
    ("ws_futures_order_update_new_limit_if_touched_price_match.json", "TAKE_PROFIT", S.NEW,
     False),
    ("ws_futures_order_update_new_stop_limit_price_match.json", "STOP", S.NEW, False),
    ("ws_futures_order_update_new_reduce_only_qty.json", "LIMIT", S.NEW, True),
])
def test_futures_new_orders_with_null_fields(name: str, otype: str, status: OrderStatus,
                                             reduce: bool) -> None:
    r = report(REC + name)
    assert (r.order_type, r.status, r.reduce_only, r.fill, r.foreign) == (
        otype, status, reduce, None, "")
    assert r.quantity == D("1.000")


def test_futures_reduce_only_trade() -> None:
    r = report(REC + "ws_futures_order_update_trade_reduce_only_qty.json")
    assert r.reduce_only
    assert r.status is S.FILLED
    assert r.fill == Fill("9988776655", "O-12345-test-reduce-only-trade", "ETHUSDT", "SELL",
                          D("2500.00"), D("1.000"), D("0.50000000"), "USDT", False,
                          1759347763200)


@pytest.mark.parametrize("path", [FUT + "trade_lite.json", REC + "ws_futures_trade_lite.json"])
def test_trade_lite_is_a_notice(path: str) -> None:
    item = decode_user_message(fixture_bytes(path))
    assert isinstance(item, parse.TradeNotice)
    if path.startswith(FUT):
        assert item == parse.TradeNotice("BTCUSDT", "TEST", "8886774", "12345678", "BUY",
                                         D("7100.50"), D("0.001"), True, 1568879465651)
    else:
        assert item == parse.TradeNotice("ETHUSDT", "O-20240930-081155-001-000-29",
                                         "8389765739703625592", "4467432841", "BUY",
                                         D("2631.90"), D("0.037"), False, 1727683915920)


def test_account_update() -> None:
    item = decode_user_message(fixture_bytes(FUT + "account_update.json"))
    assert item == AccountUpdate(
        Market.USDM, 1564745798939, "ORDER",
        (Balance("USDT", D("122624.12345678"), D("100.12345678")),),
        (
            PositionSnapshot("BTCUSDT", D("0"), D("0.00000"), D("0"), "isolated", "BOTH",
                             D("0")),
            PositionSnapshot("BTCUSDT", D("20"), D("6563.6"), D("2850.21200"), "isolated",
                             "LONG", D("6563.559")),
            PositionSnapshot("BTCUSDT", D("-10"), D("6563.8"), D("-1423.15600"), "isolated",
                             "SHORT", D("6563.861")),
        ),
    )
    bnfcr = decode_user_message(fixture_bytes(FUT + "account_update_bnfcr.json"))
    assert bnfcr == AccountUpdate(Market.USDM, 1781606859764, "ORDER",
                                  (Balance("BNFCR", D("5001.28983031"), D("5001.28983031")),))


def test_algo_updates() -> None:
    new = decode_user_message(fixture_bytes(FUT + "algo_update_new.json"))
    assert isinstance(new, parse.AlgoReport)
    assert (new.client_algo_id, new.algo_id, new.order_type, new.venue_status,
            new.trigger_price, new.quantity) == (
        "Q5xaq5EGKgXXa0fD7fs0Ip", "2148719", "TAKE_PROFIT", "NEW", D("750"), D("0.01"))
    assert new.event() == OrderEvent("Q5xaq5EGKgXXa0fD7fs0Ip", S.NEW, 1750515742297, "2148719")
    canceled = decode_user_message(fixture_bytes(FUT + "algo_update_canceled.json"))
    assert isinstance(canceled, parse.AlgoReport)
    assert canceled.event() == OrderEvent("Q5xaq5EGKgXXa0fD7fs0Ip", S.CANCELED, 1750515742297,
                                          "2148719", reason="Reduce Only reject")


@pytest.mark.parametrize(("name", "status", "actual", "executed", "event_status"), [
    ("ws_futures_algo_update_triggering.json", "TRIGGERING", "", "0", None),
    ("ws_futures_algo_update_triggered.json", "TRIGGERED", "88937381063", "0", None),
    ("ws_futures_algo_update_finished.json", "FINISHED", "88937381063", "38", None),
    ("ws_futures_algo_update_finished_canceled.json", "FINISHED", "88937381064", "0",
     S.EXPIRED),
])
def test_recorded_algo_updates(name: str, status: str, actual: str, executed: str,
                               event_status: OrderStatus | None) -> None:
    item = decode_user_message(fixture_bytes(REC + name))
    assert isinstance(item, parse.AlgoReport)
    assert (item.venue_status, item.actual_order_id, item.executed_qty, item.order_type,
            item.trigger_price) == (status, actual, D(executed), "STOP_MARKET", D("0.13855"))
    event = item.event()
    assert (event.status if event else None) is event_status


def test_spot_execution_reports() -> None:
    new = report(SPOT + "execution_report_new.json")
    assert (new.market, new.status, new.fill, new.exchange_order_id, new.quantity) == (
        Market.SPOT, S.NEW, None, "12345678", D("1.00000000"))
    trade = report(SPOT + "execution_report_trade.json")
    assert trade.status is S.FILLED
    assert trade.fill == Fill("98765432", "x-TD67BGP9-T0000000000000", "ETHUSDT", "BUY",
                              D("2500.00000000"), D("1.00000000"), D("0.00100000"), "ETH",
                              True, 1709654401000)
    canceled = report(SPOT + "execution_report_canceled.json")
    assert (canceled.status, canceled.fill) == (S.CANCELED, None)
    expired = report(SPOT + "execution_report_expired.json")
    assert (expired.status, expired.fill) == (S.EXPIRED, None)
    stop = report(SPOT + "execution_report_stop_loss.json")
    assert (stop.order_type, stop.status) == ("STOP_LOSS_LIMIT", S.NEW)
    wrapped = report(SPOT + "execution_report_wrapped.json")
    assert (wrapped.client_order_id, wrapped.symbol, wrapped.status, wrapped.time) == (
        "mUvoqJxFIILMdfAW5iGSOW", "ETHBTC", S.NEW, 1499405658657)


def test_spot_recorded_reports() -> None:
    trade = report(REC + "ws_spot_execution_report_trade.json")
    assert trade.fill == Fill("98765432", "O-12345-test-trade", "ETHUSDT", "BUY",
                              D("2499.50000000"), D("0.50000000"), D("0.00050000"), "ETH",
                              True, 1759347763167)
    assert trade.status is S.PARTIALLY_FILLED
    us = report(REC + "ws_spot_execution_report_binance_us.json")
    assert us.fill is not None
    assert (us.fill.price, us.fill.fee, us.fill.fee_asset) == (D("117290.77000000"),
                                                                D("0.00492621"), "USD")
    rejected = report(REC + "ws_spot_execution_report_rejected.json")
    assert (rejected.status, rejected.reason) == (S.REJECTED, "GTX_ORDER_REJECT")
    pending = report(REC + "ws_spot_execution_report_pending_cancel.json")
    assert pending.status is S.PENDING_CANCEL
    custom = report(REC + "ws_spot_execution_report_custom_client_id.json")
    assert (custom.foreign, custom.client_order_id) == ("", "INIT-BTC-1234567890")
    calculated = report(REC + "ws_spot_execution_report_calculated.json")
    assert calculated.foreign == "liquidation"
    assert calculated.external_event().client_order_id == "ext-1234567890"


def test_spot_empty_client_id_is_external() -> None:
    r = report(REC + "ws_spot_execution_report_empty_client_id.json")
    assert r.foreign == "no-client-id"
    event = r.external_event()
    assert (event.status, event.client_order_id) == (S.EXTERNAL, "ext-1234567890")
    assert event.fill is not None
    assert (event.fill.quantity, event.fill.price) == (D("0.50000000"), D("2499.50000000"))


@pytest.mark.parametrize(("name", "status", "incomplete"), [
    # l > 0 with L = 0 and a trade id: the trade's price is missing -> fetch the trades.
    ("ws_spot_execution_report_trade_l_zero.json", S.FILLED, True),
    # l = 0 while z grew, with a trade id: the quantity is missing -> fetch the trades.
    ("ws_spot_execution_report_trade_l_zero_partial.json", S.PARTIALLY_FILLED, True),
    # x = TRADE without a trade (t = -1): a status change only.
    ("ws_spot_execution_report_trade_l_zero_new.json", S.NEW, False),
    ("ws_spot_execution_report_trade_l_zero_canceled.json", S.CANCELED, False),
    ("ws_spot_execution_report_trade_l_zero_expired.json", S.EXPIRED, False),
    # Self-trade prevention: l > 0 but no trade happened.
    ("ws_spot_execution_report_trade_prevention.json", S.EXPIRED, False),
    ("ws_spot_execution_report_expired.json", S.EXPIRED, False),
    ("ws_spot_execution_report_canceled.json", S.CANCELED, False),
])
def test_spot_oddities_never_invent_a_fill(name: str, status: OrderStatus,
                                           incomplete: bool) -> None:
    r = report(REC + name)
    assert (r.status, r.fill, r.fill_incomplete) == (status, None, incomplete)


def test_spot_account_events() -> None:
    position = decode_user_message(fixture_bytes(SPOT + "account_position.json"))
    assert position == AccountUpdate(Market.SPOT, 1709654400000, "ACCOUNT_POSITION", (
        Balance("USDT", D("12500.00000000"), D("10000.00000000")),
        Balance("ETH", D("5.00000000"), D("5.00000000")),
    ))
    wrapped = decode_user_message(fixture_bytes(SPOT + "account_position_wrapped.json"))
    assert wrapped == AccountUpdate(Market.SPOT, 1564034571105, "ACCOUNT_POSITION",
                                    (Balance("ETH", D("10000.000000"), D("10000.000000")),))
    delta = decode_user_message(fixture_bytes(SPOT + "balance_update.json"))
    assert delta == BalanceDelta(Market.SPOT, 1709654400000, "BTC", D("0.00100000"))
    wrapped_delta = decode_user_message(fixture_bytes(SPOT + "balance_update_wrapped.json"))
    assert wrapped_delta == BalanceDelta(Market.SPOT, 1573200697068, "BTC", D("100.00000000"))
    assert decode_user_message(fixture_bytes(SPOT + "list_status_wrapped.json")) == (
        Unrecognised("listStatus"))


def test_control_events_and_replies() -> None:
    expired = decode_user_message(b'{"e":"listenKeyExpired","E":"1576653824250",'
                                  b'"listenKey":"k"}')
    assert expired == ListenKeyExpired(1576653824250)
    numeric = decode_user_message(b'{"e":"listenKeyExpired","E":1576653824251}')
    assert numeric == ListenKeyExpired(1576653824251)
    terminated = decode_user_message(
        b'{"subscriptionId":0,"event":{"e":"eventStreamTerminated","E":1728973001334}}')
    assert terminated == StreamTerminated(1728973001334)
    reply = decode_user_message(b'{"id":"sub-1","status":200,"result":{"subscriptionId":3}}')
    assert reply == WsApiReply("sub-1", 200, b'{"subscriptionId":3}')
    failed = decode_user_message(b'{"id":"sub-2","status":400,"error":{"code":-1022,'
                                 b'"msg":"Signature for this request is not valid."}}')
    assert failed == WsApiReply("sub-2", 400, b"", -1022,
                                "Signature for this request is not valid.")
    assert decode_user_message(b'{"e":"somethingNew","E":1}') == Unrecognised("somethingNew")
