from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from binbot.adapters.binance import parsing
from binbot.adapters.binance.clock import ClockOffset
from binbot.adapters.binance.execution import (
    BinanceExecutionClient,
    ExecutionOptions,
    SetupRefused,
    ensure_key_cannot_withdraw,
)
from binbot.adapters.binance.signed_rest import ApiKey, SignedTransport
from binbot.adapters.binance.signing import Ed25519Signer, HmacSigner, Signer
from binbot.adapters.binance.trading_api import BinanceTradingApi
from binbot.adapters.binance.user_decoder import decode_user_message
from binbot.adapters.binance.weights import WeightGate
from binbot.adapters.binance.wire import WireExchangeInfo
from binbot.domain.account import AccountEvent, AlarmKind, ExecutionAlarm
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market
from binbot.domain.orders import (
    OrderEvent,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    make_client_order_id,
)
from tests.unit.adapters.binance.fake_account import (
    API_KEY,
    SECRET,
    FakeAccount,
    Script,
    error,
)
from tests.unit.adapters.binance.fakes import FakeTime, fixture_bytes, start_app

S = OrderStatus
FAST = ExecutionOptions(resolve_delays_s=(0.01,) * 5, retry_after_error_s=0.01,
                        fill_fetch_delays_s=(0.0, 0.01, 0.02))


def instruments(market: Market) -> list[Instrument]:
    name = "futures" if market is Market.USDM else "spot"
    body = fixture_bytes(f"recorded/http_responses/http_{name}_market_exchange_info.json")
    return parsing.instruments(msgspec.json.decode(body, type=WireExchangeInfo), market)


def intent(seq: int, otype: OrderType = OrderType.MARKET, *, market: Market = Market.USDM,
           side: OrderSide = OrderSide.BUY, qty: str = "0.01", price: str | None = None,
           stop: str | None = None, reduce_only: bool = False,
           symbol: str = "BTCUSDT") -> OrderIntent:
    return OrderIntent(
        bot_id="bot", intent_seq=seq, client_order_id=make_client_order_id("bot", seq),
        market=market, symbol=symbol, side=side, type=otype, quantity=Decimal(qty),
        created_time=0, price=Decimal(price) if price else None,
        stop_price=Decimal(stop) if stop else None, reduce_only=reduce_only,
    )


@dataclass
class Rig:
    fake: FakeAccount
    client: BinanceExecutionClient
    events: list[OrderEvent] = field(default_factory=list)
    account: list[AccountEvent] = field(default_factory=list)

    def statuses(self, cid: str) -> list[OrderStatus]:
        return [e.status for e in self.events if e.client_order_id == cid]

    def alarms(self) -> list[ExecutionAlarm]:
        return [a for a in self.account if isinstance(a, ExecutionAlarm)]


MakeRig = Callable[..., "Any"]


@pytest.fixture
async def rig_factory() -> AsyncIterator[MakeRig]:
    cleanups: list[Any] = []

    async def make(market: Market = Market.USDM, *, signer: Signer | None = None,
                   fake: FakeAccount | None = None, timeout_s: float = 2.0,
                   gate: WeightGate | None = None, api_key: str = API_KEY) -> Rig:
        fake = fake or FakeAccount()
        runner, port = await start_app(fake.app)
        session = aiohttp.ClientSession()
        transport = SignedTransport(
            f"http://127.0.0.1:{port}", market,
            ApiKey(api_key, signer or HmacSigner(SECRET)), session=session,
            gate=gate or WeightGate(6000), clock=ClockOffset(), timeout_s=timeout_s,
            read_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02,
        )
        client = BinanceExecutionClient(BinanceTradingApi(transport), instruments(market),
                                        options=FAST)
        rig = Rig(fake, client)
        client.bind(rig.events.append)
        client.bind_account(rig.account.append)
        client.start()
        cleanups.append((client, session, runner))
        return rig

    yield make
    for client, session, runner in cleanups:
        await client.close()
        await session.close()
        await runner.cleanup()


async def test_market_order_is_signed_as_sent_and_filled_once(rig_factory: MakeRig) -> None:
    rig: Rig = await rig_factory()
    order = intent(1)
    rig.client.submit(order)
    await rig.client.drain()
    cid = order.client_order_id
    assert rig.statuses(cid) == [S.SUBMITTED, S.NEW, S.FILLED]
    assert rig.fake.bad_signatures == 0
    (post,) = rig.fake.seen("POST", "/fapi/v1/order")
    names = [k for k, _ in (p.split("=", 1) for p in post.raw_query.split("&"))]
    assert names == ["symbol", "side", "type", "quantity", "newClientOrderId",
                     "newOrderRespType", "recvWindow", "timestamp", "signature"]
    assert post.params["quantity"] == "0.01"
    assert post.params["newClientOrderId"] == cid
    assert post.api_key == API_KEY
    fill = rig.events[-1].fill
    assert fill is not None
    assert (fill.price, fill.quantity, fill.fee, fill.client_order_id) == (
        Decimal("50000.0"), Decimal("0.01"), Decimal("0.02"), cid)
    assert rig.client.open_orders() == []


async def test_ed25519_requests_verify_with_the_public_key(rig_factory: MakeRig) -> None:
    key = Ed25519PrivateKey.generate()
    rig: Rig = await rig_factory(signer=Ed25519Signer(key),
                                 fake=FakeAccount(public_key=key.public_key()))
    order = intent(2, OrderType.LIMIT, price="40000.07", qty="0.0109")
    rig.client.submit(order)
    await rig.client.drain()
    assert rig.statuses(order.client_order_id) == [S.SUBMITTED, S.NEW]
    assert rig.fake.bad_signatures == 0
    (post,) = rig.fake.seen("POST", "/fapi/v1/order")
    # Rounded to the filters: step 0.001 floors the quantity; a buy rounds the price down
    # on the USD-M tick grid that starts at minPrice 402.
    assert (post.params["quantity"], post.params["price"], post.params["timeInForce"]) == (
        "0.01", "40000", "GTC")
    assert [o.client_order_id for o in rig.client.open_orders()] == [order.client_order_id]


async def test_wrong_signature_is_a_config_fault(rig_factory: MakeRig) -> None:
    rig: Rig = await rig_factory(signer=HmacSigner("not-the-secret"))
    order = intent(3)
    rig.client.submit(order)
    await rig.client.drain()
    assert rig.statuses(order.client_order_id) == [S.SUBMITTED, S.REJECTED]
    assert rig.fake.bad_signatures == 1
    (alarm,) = rig.alarms()
    assert alarm.kind is AlarmKind.CONFIG_FAULT
    assert alarm.halts_trading


async def test_invalid_orders_are_rejected_locally_and_nothing_is_sent(
    rig_factory: MakeRig,
) -> None:
    rig: Rig = await rig_factory()
    too_small = intent(4, qty="0.0004")
    tiny_notional = intent(5, OrderType.LIMIT, price="500", qty="0.001")
    unknown = intent(6, symbol="DOGEUSDT")
    for order in (too_small, tiny_notional, unknown):
        rig.client.submit(order)
    await rig.client.drain()
    assert rig.fake.requests == []
    reasons = {e.client_order_id: e.reason for e in rig.events}
    assert all(e.status is S.REJECTED for e in rig.events)
    assert "quantity 0.0004 rounds to 0" in reasons[too_small.client_order_id]
    assert "notional below minimum 10" in reasons[tiny_notional.client_order_id]
    assert "no exchangeInfo" in reasons[unknown.client_order_id]


async def test_unknown_outcome_is_queried_and_adopted_never_resent(
    rig_factory: MakeRig,
) -> None:
    fake = FakeAccount()
    fake.script("POST", "/fapi/v1/order", Script(
        503, {"code": -1000, "msg": "Unknown error, please check your request or try again "
              "later."}, execute=True))
    fake.hide_queries = 2  # the first two queries do not see the order yet (-2013)
    rig: Rig = await rig_factory(fake=fake)
    order = intent(7)
    rig.client.submit(order)
    await rig.client.drain()
    cid = order.client_order_id
    assert rig.statuses(cid) == [S.SUBMITTED, S.UNKNOWN, S.NEW, S.FILLED]
    assert len(fake.seen("POST", "/fapi/v1/order")) == 1
    assert len(fake.orders) == 1
    assert len(fake.seen("GET", "/fapi/v1/order")) == 3
    assert [q.params["origClientOrderId"] for q in fake.seen("GET", "/fapi/v1/order")] == [
        cid] * 3
    fills = [e.fill for e in rig.events if e.fill is not None]
    assert len(fills) == 1
    assert fills[0].quantity == Decimal("0.01")


async def test_timeout_after_execution_is_adopted(rig_factory: MakeRig) -> None:
    fake = FakeAccount()
    fake.script("POST", "/api/v3/order", Script(200, {}, execute=True, delay_s=1.0))
    rig: Rig = await rig_factory(Market.SPOT, fake=fake, timeout_s=0.3)
    order = intent(8, market=Market.SPOT, qty="0.001")
    rig.client.submit(order)
    await rig.client.drain()
    assert rig.statuses(order.client_order_id) == [S.SUBMITTED, S.UNKNOWN, S.NEW, S.FILLED]
    assert len(fake.seen("POST", "/api/v3/order")) == 1
    assert len(fake.orders) == 1


async def test_absent_after_grace_is_not_sent_and_symbol_waits(rig_factory: MakeRig) -> None:
    fake = FakeAccount()
    fake.script("POST", "/fapi/v1/order", Script(502, "<html>bad gateway</html>"))
    rig: Rig = await rig_factory(fake=fake)
    lost, after = intent(9), intent(10)
    rig.client.submit(lost)
    rig.client.submit(after)
    await rig.client.drain()
    assert rig.statuses(lost.client_order_id) == [S.SUBMITTED, S.UNKNOWN, S.NOT_SENT]
    assert len(fake.seen("GET", "/fapi/v1/order")) == 5
    # The second order on the symbol was held until the first was resolved.
    not_sent_at = next(i for i, e in enumerate(rig.events) if e.status is S.NOT_SENT)
    first_after = next(i for i, e in enumerate(rig.events)
                       if e.client_order_id == after.client_order_id)
    assert first_after > not_sent_at
    assert rig.statuses(after.client_order_id) == [S.SUBMITTED, S.NEW, S.FILLED]
    assert [s.params["newClientOrderId"] for s in fake.seen("POST", "/fapi/v1/order")] == [
        lost.client_order_id, after.client_order_id]
    assert lost.client_order_id in rig.client.lost.items


async def test_clock_error_resyncs_and_resends_once(rig_factory: MakeRig) -> None:
    fake = FakeAccount()
    fake.clock_skew_ms = -2500  # the server is behind: our timestamps look 2.5 s early
    rig: Rig = await rig_factory(fake=fake)
    order = intent(11)
    rig.client.submit(order)
    await rig.client.drain()
    posts = fake.seen("POST", "/fapi/v1/order")
    assert len(posts) == 2
    assert {p.params["newClientOrderId"] for p in posts} == {order.client_order_id}
    assert posts[0].params["signature"] != posts[1].params["signature"]
    assert len(fake.seen("GET", "/fapi/v1/time")) == 1
    assert rig.statuses(order.client_order_id) == [S.SUBMITTED, S.NEW, S.FILLED]
    assert len(fake.orders) == 1


async def test_rate_limit_and_ban_close_the_gate_and_alarm(rig_factory: MakeRig) -> None:
    fake = FakeAccount()
    fake_time = FakeTime(time.time())
    gate = WeightGate(6000, wall=fake_time.wall, sleep=fake_time.sleep)
    fake.script("POST", "/fapi/v1/order",
                Script(429, {"code": -1003, "msg": "Too many requests."},
                       {"Retry-After": "7"}),
                Script(418, {"code": -1003, "msg": "IP banned."}, {"Retry-After": "120"}))
    rig: Rig = await rig_factory(fake=fake, gate=gate)
    first, second, third = intent(12), intent(13), intent(14)
    for order in (first, second, third):
        rig.client.submit(order)
    await rig.client.drain()
    assert rig.statuses(first.client_order_id) == [S.SUBMITTED, S.REJECTED]
    assert rig.statuses(second.client_order_id) == [S.SUBMITTED, S.REJECTED]
    assert rig.statuses(third.client_order_id) == [S.SUBMITTED, S.NEW, S.FILLED]
    kinds = [(a.kind, a.retry_after_s, a.halts_trading) for a in rig.alarms()]
    assert kinds == [(AlarmKind.RATE_LIMITED, 7.0, False), (AlarmKind.IP_BANNED, 120.0, True)]
    # No request left inside either window: the gate slept 7 s, then 120 s.
    assert fake_time.sleeps == [pytest.approx(7.0), pytest.approx(120.0)]
    assert len(fake.seen("POST", "/fapi/v1/order")) == 3


@pytest.mark.parametrize(("market", "path"), [(Market.USDM, "/fapi/v1/order"),
                                              (Market.SPOT, "/api/v3/order")])
async def test_duplicate_id_is_queried_and_adopted(
    rig_factory: MakeRig, market: Market, path: str
) -> None:
    rig: Rig = await rig_factory(market)
    order = intent(15, OrderType.LIMIT, market=market, price="40000", qty="0.001")
    # An earlier attempt of this intent already rests on the venue.
    rig.fake._create({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001",
                      "price": "40000", "newClientOrderId": order.client_order_id},
                     market is Market.USDM)
    rig.client.submit(order)
    await rig.client.drain()
    assert rig.statuses(order.client_order_id) == [S.SUBMITTED, S.UNKNOWN, S.NEW]
    assert len(rig.fake.orders) == 1
    assert len(rig.fake.seen("POST", path)) == 1
    assert rig.events[-1].exchange_order_id == str(
        rig.fake.orders[order.client_order_id]["orderId"])


async def test_conditional_orders_use_the_algo_endpoint(rig_factory: MakeRig) -> None:
    rig: Rig = await rig_factory()
    stop = intent(16, OrderType.STOP_MARKET, side=OrderSide.SELL, stop="48000.05",
                  reduce_only=True)
    take = intent(17, OrderType.TAKE_PROFIT_MARKET, side=OrderSide.SELL, stop="52000.03",
                  reduce_only=True)
    rig.client.submit(stop)
    rig.client.submit(take)
    await rig.client.drain()
    posts = rig.fake.seen("POST", "/fapi/v1/algoOrder")
    assert [(p.params["algoType"], p.params["type"], p.params["triggerPrice"],
             p.params["reduceOnly"], p.params["clientAlgoId"]) for p in posts] == [
        ("CONDITIONAL", "STOP_MARKET", "48000", "true", stop.client_order_id),
        ("CONDITIONAL", "TAKE_PROFIT_MARKET", "52000.1", "true", take.client_order_id),
    ]
    assert rig.fake.seen("POST", "/fapi/v1/order") == []
    assert rig.statuses(stop.client_order_id) == [S.SUBMITTED, S.NEW]
    rig.client.cancel(stop.client_order_id)
    await rig.client.drain()
    assert rig.statuses(stop.client_order_id)[-1] is S.CANCELED
    assert len(rig.fake.seen("DELETE", "/fapi/v1/algoOrder")) == 1


async def test_spot_stop_types(rig_factory: MakeRig) -> None:
    rig: Rig = await rig_factory(Market.SPOT)
    stop = intent(18, OrderType.STOP_MARKET, market=Market.SPOT, side=OrderSide.SELL,
                  stop="48000.005", qty="0.001")
    rig.client.submit(stop)
    await rig.client.drain()
    (post,) = rig.fake.seen("POST", "/api/v3/order")
    assert (post.params["type"], post.params["stopPrice"]) == ("STOP_LOSS", "48000")
    assert "reduceOnly" not in post.params


async def test_4120_disables_the_order_type(rig_factory: MakeRig) -> None:
    fake = FakeAccount()
    fake.script("POST", "/fapi/v1/algoOrder", error(-4120, "Order type not supported for "
                                                           "this endpoint."))
    rig: Rig = await rig_factory(fake=fake)
    first = intent(19, OrderType.STOP_MARKET, side=OrderSide.SELL, stop="48000")
    second = intent(20, OrderType.STOP_MARKET, side=OrderSide.SELL, stop="47000")
    rig.client.submit(first)
    rig.client.submit(second)
    await rig.client.drain()
    assert rig.statuses(first.client_order_id) == [S.SUBMITTED, S.REJECTED]
    assert rig.statuses(second.client_order_id) == [S.REJECTED]
    assert "disabled" in rig.events[-1].reason
    assert len(fake.seen("POST", "/fapi/v1/algoOrder")) == 1
    assert [a.kind for a in rig.alarms()] == [AlarmKind.ORDER_TYPE_DISABLED]


async def test_cancel_and_cancel_that_raced_a_fill(rig_factory: MakeRig) -> None:
    rig: Rig = await rig_factory()
    resting = intent(21, OrderType.LIMIT, price="40000", qty="0.001")
    rig.client.submit(resting)
    await rig.client.drain()
    rig.client.cancel(resting.client_order_id)
    await rig.client.drain()
    assert rig.statuses(resting.client_order_id) == [S.SUBMITTED, S.NEW, S.CANCELED]
    # A cancel that loses the race with a fill: -2011, then the query shows FILLED.
    racing = intent(22, OrderType.LIMIT, price="40000", qty="0.001")
    rig.client.submit(racing)
    await rig.client.drain()
    venue = rig.fake.orders[racing.client_order_id]
    venue.update(status="FILLED", executedQty="0.001", avgPrice="40000")
    rig.fake.trades.append({"symbol": "BTCUSDT", "id": 1, "orderId": venue["orderId"],
                            "side": "BUY", "price": "40000", "qty": "0.001",
                            "commission": "0.01", "commissionAsset": "USDT", "time": 5,
                            "buyer": True, "maker": True})
    rig.client.cancel(racing.client_order_id)
    await rig.client.drain()
    assert rig.statuses(racing.client_order_id) == [S.SUBMITTED, S.NEW, S.FILLED]
    assert len(rig.fake.seen("DELETE", "/fapi/v1/order")) == 2


async def test_setup_checks_mode_and_sets_margin_and_leverage(rig_factory: MakeRig) -> None:
    rig: Rig = await rig_factory()
    await rig.client.prepare_symbol("BTCUSDT", leverage=5, margin_type="ISOLATED")
    (margin,) = rig.fake.seen("POST", "/fapi/v1/marginType")
    (leverage,) = rig.fake.seen("POST", "/fapi/v1/leverage")
    assert margin.params["marginType"] == "ISOLATED"
    assert leverage.params["leverage"] == "5"
    rig.fake.hedge = True
    with pytest.raises(SetupRefused, match="hedge"):
        await rig.client.prepare_symbol("BTCUSDT", leverage=5)
    assert [a.kind for a in rig.alarms()] == [AlarmKind.SETUP]


async def test_margin_type_unchanged_is_not_an_error(rig_factory: MakeRig) -> None:
    fake = FakeAccount()
    fake.script("POST", "/fapi/v1/marginType", error(-4046, "No need to change margin type."))
    rig: Rig = await rig_factory(fake=fake)
    await rig.client.prepare_symbol("BTCUSDT", leverage=3)
    assert len(fake.seen("POST", "/fapi/v1/leverage")) == 1


async def test_key_with_withdrawal_rights_is_refused(rig_factory: MakeRig) -> None:
    rig: Rig = await rig_factory(Market.SPOT)
    await ensure_key_cannot_withdraw(rig.client.api)
    rig.fake.restrictions["enableWithdrawals"] = True
    with pytest.raises(SetupRefused, match="withdrawals"):
        await ensure_key_cannot_withdraw(rig.client.api)


async def test_reconciliation_queries(rig_factory: MakeRig) -> None:
    rig: Rig = await rig_factory()
    resting = intent(23, OrderType.LIMIT, price="40000", qty="0.001")
    stop = intent(24, OrderType.STOP_MARKET, side=OrderSide.SELL, stop="30000")
    filled = intent(25)
    for order in (resting, stop, filled):
        rig.client.submit(order)
    await rig.client.drain()
    opened = await rig.client.fetch_open_orders("BTCUSDT")
    assert sorted((o.client_order_id, o.status) for o in opened) == sorted(
        [(resting.client_order_id, S.NEW), (stop.client_order_id, S.NEW)])
    fills = await rig.client.fetch_fills("BTCUSDT", from_trade_id=0)
    assert [(f.client_order_id, f.quantity) for f in fills] == [
        (filled.client_order_id, Decimal("0.01"))]
    assert await rig.client.fetch_order("BTCUSDT", "bb-nothere") is None
    found = await rig.client.fetch_order("BTCUSDT", filled.client_order_id)
    assert found is not None
    assert found.status is S.FILLED
    assert found.filled_qty == Decimal("0.01")


async def test_stream_events_are_attributed_and_fills_applied_once(
    rig_factory: MakeRig,
) -> None:
    rig: Rig = await rig_factory()
    order = intent(26, OrderType.LIMIT, price="7100.5", qty="0.002")
    rig.client.submit(order)
    await rig.client.drain()
    raw = fixture_bytes("futures/user_data_json/order_update_trade_partial.json")
    message = raw.replace(b'"TEST"', f'"{order.client_order_id}"'.encode())
    report = decode_user_message(message)
    rig.client.handle_user_event(report)  # type: ignore[arg-type]
    rig.client.handle_user_event(report)  # duplicate delivery
    partial = [e for e in rig.events if e.status is S.PARTIALLY_FILLED]
    assert len(partial) == 1
    assert partial[0].fill is not None
    assert partial[0].fill.trade_id == "12345678"
    liquidation = decode_user_message(fixture_bytes(
        "recorded/ws_messages/ws_futures_order_update_liquidation.json"))
    rig.client.handle_user_event(liquidation)  # type: ignore[arg-type]
    rig.client.handle_user_event(liquidation)  # type: ignore[arg-type]
    external = [e for e in rig.events if e.status is S.EXTERNAL]
    assert len(external) == 1
    assert external[0].client_order_id == "ext-9876543210"
    assert external[0].fill is not None
    assert external[0].fill.quantity == Decimal("0.100")


async def test_trade_without_price_is_read_from_the_trades(rig_factory: MakeRig) -> None:
    rig: Rig = await rig_factory(Market.SPOT)
    order = intent(27, OrderType.LIMIT, market=Market.SPOT, price="2500", qty="0.01",
                   symbol="ETHUSDT")
    rig.client.instruments["ETHUSDT"] = next(
        i for i in instruments(Market.SPOT) if i.symbol == "ETHUSDT")
    rig.client.submit(order)
    await rig.client.drain()
    venue = rig.fake.orders[order.client_order_id]
    rig.fake.trades.append({"symbol": "ETHUSDT", "id": 12345678, "orderId": venue["orderId"],
                            "price": "2500", "qty": "0.001", "commission": "0.000001",
                            "commissionAsset": "ETH", "time": 7, "isBuyer": True,
                            "isMaker": True})
    # The recorded oddity: x=TRADE, X=FILLED, l=0.001 but L=0 (no price in the event).
    raw = fixture_bytes("recorded/ws_messages/ws_spot_execution_report_trade_l_zero.json")
    raw = raw.replace(b'"O-12345-test-trade-l-zero"', f'"{order.client_order_id}"'.encode())
    raw = raw.replace(b'"i": 1234567890', f'"i": {venue["orderId"]}'.encode())
    rig.client.handle_user_event(decode_user_message(raw))  # type: ignore[arg-type]
    await rig.client.drain()
    assert rig.statuses(order.client_order_id) == [S.SUBMITTED, S.NEW, S.FILLED]
    fill = rig.events[-1].fill
    assert fill is not None
    assert (fill.trade_id, fill.price, fill.quantity, fill.fee_asset) == (
        "12345678", Decimal("2500"), Decimal("0.001"), "ETH")
