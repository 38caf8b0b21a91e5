"""USD-M orders over the WebSocket API (``order_transport="ws_api"``).

The fake WS-API below lives on the REST fake's app and shares its order book, so an order the
WS-API executed is what the REST order query (the resolver's) finds. It verifies every
signature itself (HMAC over the params sorted by name, or Ed25519 with the public key) and
checks ``timestamp``/``recvWindow``; it shares no code with the client.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from binbot.adapters.binance.clock import ClockOffset
from binbot.adapters.binance.execution import BinanceExecutionClient, ExecutionOptions
from binbot.adapters.binance.order_params import build_order
from binbot.adapters.binance.signed_rest import ApiKey, SignedTransport
from binbot.adapters.binance.signing import Ed25519Signer, HmacSigner, Signer
from binbot.adapters.binance.trading_api import BinanceTradingApi
from binbot.adapters.binance.weights import WeightGate
from binbot.adapters.binance.ws_api import WsApiOrderTransport
from binbot.adapters.binance.ws_api_orders import WsApiOrders
from binbot.domain.account import AccountEvent, AlarmKind, ExecutionAlarm
from binbot.domain.errors import Rejected, TransientError, UnknownOutcome
from binbot.domain.market import Market
from binbot.domain.orders import OrderEvent, OrderSide, OrderStatus, OrderType
from tests.unit.adapters.binance.fake_account import API_KEY, SECRET, FakeAccount
from tests.unit.adapters.binance.fakes import FakeTime, start_app
from tests.unit.adapters.binance.test_binance_execution import instruments, intent

S = OrderStatus
WS_PATH = "/ws-fapi/v1"


@dataclass
class Act:
    """A scripted reaction to the next request of a method. ``execute`` performs it first
    (the venue executed it); then ``error`` answers, ``silent`` never answers, ``drop``
    closes the connection; ``delay_s`` holds the answer (and the connection's next frames)."""

    error: tuple[int, int, str] | None = None
    execute: bool = False
    silent: bool = False
    drop: bool = False
    data: dict[str, Any] | None = None
    delay_s: float = 0.0


@dataclass
class Frame:
    method: str
    params: dict[str, Any]
    signature_ok: bool


@dataclass
class FakeWsApi:
    """``/ws-fapi/v1``: order.place / order.cancel / order.status on ``account``'s book."""

    account: FakeAccount
    frames: list[Frame] = field(default_factory=list)
    acts: dict[str, list[Act]] = field(default_factory=dict)
    connections: int = 0

    def __post_init__(self) -> None:
        self.account.app.router.add_get(WS_PATH, self.handle)

    def script(self, method: str, *acts: Act) -> None:
        self.acts.setdefault(method, []).extend(acts)

    def methods(self) -> list[str]:
        return [f.method for f in self.frames]

    def _verify(self, params: dict[str, Any]) -> bool:
        def text(value: Any) -> str:
            return ("true" if value else "false") if isinstance(value, bool) else str(value)

        payload = "&".join(f"{k}={text(params[k])}" for k in sorted(params) if k != "signature")
        signature = str(params.get("signature", ""))
        if params.get("apiKey") != API_KEY:
            return False
        if self.account.public_key is not None:
            try:
                self.account.public_key.verify(base64.b64decode(signature), payload.encode())
            except (InvalidSignature, ValueError):
                return False
            return True
        expected = hmac.new(self.account.secret.encode(), payload.encode(),
                            hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections += 1
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            req = json.loads(message.data)
            if not await self._answer(ws, req):
                break
        return ws

    async def _answer(self, ws: web.WebSocketResponse, req: dict[str, Any]) -> bool:
        method, params = req["method"], req["params"]
        ok = self._verify(params)
        self.frames.append(Frame(method, params, ok))

        async def send(status: int, body: dict[str, Any]) -> None:
            await ws.send_str(json.dumps({"id": req["id"], "status": status, **body,
                                          "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT",
                                                          "interval": "MINUTE",
                                                          "intervalNum": 1, "limit": 2400,
                                                          "count": len(self.frames)}]}))

        def error(status: int, code: int, msg: str, data: Any = None) -> dict[str, Any]:
            body: dict[str, Any] = {"code": code, "msg": msg}
            if data is not None:
                body["data"] = data
            return {"error": body}

        if not ok:
            await send(400, error(400, -1022, "Signature for this request is not valid."))
            return True
        now = self.account.now_ms()
        stamp, window = int(params["timestamp"]), int(params["recvWindow"])
        if stamp >= now + 1000 or now - stamp > window:
            await send(400, error(400, -1021, "Timestamp for this request is outside of the "
                                              "recvWindow."))
            return True
        queue = self.acts.get(method)
        act = queue.pop(0) if queue else Act()
        await asyncio.sleep(act.delay_s)
        if act.drop and not act.execute:
            await ws.close()
            return False
        if act.error is not None and not act.execute:
            await send(act.error[0], error(*act.error, data=act.data))
            return True
        status, body = self._execute(method, params)
        if act.drop:
            await ws.close()
            return False
        if act.silent:
            return True
        if act.error is not None:
            status, body = act.error[0], error(*act.error, data=act.data)
        await send(status, body)
        return True

    def _execute(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        orders = self.account.orders
        if method == "order.place":
            existing = orders.get(params["newClientOrderId"])
            if existing is not None and existing["status"] in ("NEW", "PARTIALLY_FILLED"):
                return 400, {"error": {"code": -4116, "msg": "ClientOrderId is duplicated."}}
            wire = {k: str(v) for k, v in params.items()}
            return 200, {"result": self.account._create(wire, True)}
        found = orders.get(params["origClientOrderId"])
        if method == "order.cancel":
            if found is None or found["status"] not in ("NEW", "PARTIALLY_FILLED"):
                return 400, {"error": {"code": -2011, "msg": "Unknown order sent."}}
            found["status"] = "CANCELED"
            return 200, {"result": found}
        if method == "order.status":
            if found is None:
                return 400, {"error": {"code": -2013, "msg": "Order does not exist."}}
            return 200, {"result": found}
        return 400, {"error": {"code": -1100, "msg": f"unknown method {method}"}}


@dataclass
class WsRig:
    fake: FakeAccount
    ws: FakeWsApi
    client: BinanceExecutionClient
    events: list[OrderEvent] = field(default_factory=list)
    account: list[AccountEvent] = field(default_factory=list)

    def statuses(self, cid: str) -> list[OrderStatus]:
        return [e.status for e in self.events if e.client_order_id == cid]

    def alarms(self) -> list[ExecutionAlarm]:
        return [a for a in self.account if isinstance(a, ExecutionAlarm)]


MakeRig = Callable[..., Any]
FAST_WS = ExecutionOptions(resolve_delays_s=(0.01,) * 5, retry_after_error_s=0.01,
                           fill_fetch_delays_s=(0.0, 0.01, 0.02), order_transport="ws_api",
                           ws_api_timeout_s=0.3)


@pytest.fixture
async def ws_rig() -> AsyncIterator[MakeRig]:
    cleanups: list[Any] = []

    async def make(*, signer: Signer | None = None, fake: FakeAccount | None = None,
                   gate: WeightGate | None = None) -> WsRig:
        fake = fake or FakeAccount()
        ws = FakeWsApi(fake)
        runner, port = await start_app(fake.app)
        session = aiohttp.ClientSession()
        transport = SignedTransport(
            f"http://127.0.0.1:{port}", Market.USDM, ApiKey(API_KEY, signer or HmacSigner(SECRET)),
            session=session, gate=gate or WeightGate(6000), clock=ClockOffset(), timeout_s=2.0,
            read_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02,
        )
        options = dataclasses.replace(FAST_WS, ws_api_url=f"ws://127.0.0.1:{port}{WS_PATH}")
        client = BinanceExecutionClient(BinanceTradingApi(transport), instruments(Market.USDM),
                                        options=options)
        rig = WsRig(fake, ws, client)
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


def rest_posts(rig: WsRig) -> int:
    return len(rig.fake.seen("POST", "/fapi/v1/order"))


async def test_market_order_over_ws_api_is_filled_once(ws_rig: MakeRig) -> None:
    rig: WsRig = await ws_rig()
    order = intent(1)
    rig.client.submit(order)
    await rig.client.drain()
    cid = order.client_order_id
    assert rig.statuses(cid) == [S.SUBMITTED, S.NEW, S.FILLED]
    (frame,) = rig.ws.frames
    assert frame.method == "order.place"
    assert frame.signature_ok
    assert {k: frame.params[k] for k in ("symbol", "side", "type", "quantity",
                                         "newClientOrderId", "newOrderRespType")} == {
        "symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01",
        "newClientOrderId": cid, "newOrderRespType": "RESULT"}
    assert rest_posts(rig) == 0
    assert len(rig.fake.orders) == 1
    fill = rig.events[-1].fill
    assert fill is not None
    assert (fill.price, fill.quantity, fill.client_order_id) == (
        Decimal("50000.0"), Decimal("0.01"), cid)


async def test_same_rounding_as_rest_and_ed25519_verifies(ws_rig: MakeRig) -> None:
    key = Ed25519PrivateKey.generate()
    rig: WsRig = await ws_rig(signer=Ed25519Signer(key),
                              fake=FakeAccount(public_key=key.public_key()))
    order = intent(2, OrderType.LIMIT, price="40000.07", qty="0.0109")
    rig.client.submit(order)
    await rig.client.drain()
    assert rig.statuses(order.client_order_id) == [S.SUBMITTED, S.NEW]
    (frame,) = rig.ws.frames
    assert frame.signature_ok
    expected = build_order(order, rig.client.instruments["BTCUSDT"])
    sent = {k: v for k, v in frame.params.items()
            if k not in ("apiKey", "recvWindow", "timestamp", "signature")}
    assert sent == dict(expected.params)
    assert (sent["quantity"], sent["price"], sent["timeInForce"]) == ("0.01", "40000", "GTC")


async def test_error_answer_is_rejected_without_resend(ws_rig: MakeRig) -> None:
    rig: WsRig = await ws_rig()
    rig.ws.script("order.place", Act(error=(400, -2019, "Margin is insufficient.")))
    order = intent(3)
    rig.client.submit(order)
    await rig.client.drain()
    assert rig.statuses(order.client_order_id) == [S.SUBMITTED, S.REJECTED]
    assert "-2019" in (rig.events[-1].reason or "")
    assert rig.ws.methods() == ["order.place"]
    assert rig.fake.orders == {}


async def test_bad_signature_is_a_config_fault(ws_rig: MakeRig) -> None:
    rig: WsRig = await ws_rig(signer=HmacSigner("not-the-secret"))
    order = intent(4)
    rig.client.submit(order)
    await rig.client.drain()
    assert rig.statuses(order.client_order_id) == [S.SUBMITTED, S.REJECTED]
    assert [f.signature_ok for f in rig.ws.frames] == [False]
    assert [a.kind for a in rig.alarms()] == [AlarmKind.CONFIG_FAULT]


async def test_timeout_after_execution_is_unknown_then_resolved_over_rest(
    ws_rig: MakeRig,
) -> None:
    rig: WsRig = await ws_rig()
    rig.ws.script("order.place", Act(execute=True, silent=True))
    order = intent(5)
    rig.client.submit(order)
    await rig.client.drain()
    cid = order.client_order_id
    assert rig.statuses(cid) == [S.SUBMITTED, S.UNKNOWN, S.NEW, S.FILLED]
    assert "outcome unknown" in (rig.events[1].reason or "")
    assert rig.ws.methods() == ["order.place"]  # never resent
    assert len(rig.fake.orders) == 1
    assert [q.params["origClientOrderId"] for q in rig.fake.seen("GET", "/fapi/v1/order")
            ] == [cid]
    assert rest_posts(rig) == 0


async def test_drop_in_flight_is_unknown_resolved_and_the_connection_comes_back(
    ws_rig: MakeRig,
) -> None:
    rig: WsRig = await ws_rig()
    rig.ws.script("order.place", Act(execute=True, drop=True))
    dropped, after = intent(6), intent(7)
    rig.client.submit(dropped)
    rig.client.submit(after)
    await rig.client.drain()
    assert rig.statuses(dropped.client_order_id) == [S.SUBMITTED, S.UNKNOWN, S.NEW, S.FILLED]
    # The next order on the symbol waited for the resolver, then went over a new connection.
    assert rig.statuses(after.client_order_id) == [S.SUBMITTED, S.NEW, S.FILLED]
    assert [f.params["newClientOrderId"] for f in rig.ws.frames] == [
        dropped.client_order_id, after.client_order_id]
    assert rig.ws.connections == 2
    assert len(rig.fake.orders) == 2
    assert rest_posts(rig) == 0


async def test_drop_before_execution_ends_not_sent(ws_rig: MakeRig) -> None:
    rig: WsRig = await ws_rig()
    rig.ws.script("order.place", Act(drop=True))
    order = intent(8)
    rig.client.submit(order)
    await rig.client.drain()
    assert rig.statuses(order.client_order_id) == [S.SUBMITTED, S.UNKNOWN, S.NOT_SENT]
    assert len(rig.fake.seen("GET", "/fapi/v1/order")) == 5
    assert rig.fake.orders == {}
    assert rig.ws.methods() == ["order.place"]


async def test_cancel_goes_over_ws_api_and_a_lost_race_is_queried(ws_rig: MakeRig) -> None:
    rig: WsRig = await ws_rig()
    resting = intent(9, OrderType.LIMIT, price="40000", qty="0.001")
    racing = intent(10, OrderType.LIMIT, price="40000", qty="0.001")
    rig.client.submit(resting)
    rig.client.submit(racing)
    await rig.client.drain()
    rig.client.cancel(resting.client_order_id)
    venue = rig.fake.orders[racing.client_order_id]
    venue.update(status="FILLED", executedQty="0.001", avgPrice="40000")
    rig.fake.trades.append({"symbol": "BTCUSDT", "id": 1, "orderId": venue["orderId"],
                            "side": "BUY", "price": "40000", "qty": "0.001",
                            "commission": "0.01", "commissionAsset": "USDT", "time": 5,
                            "buyer": True, "maker": True})
    rig.client.cancel(racing.client_order_id)
    await rig.client.drain()
    assert rig.statuses(resting.client_order_id) == [S.SUBMITTED, S.NEW, S.CANCELED]
    assert rig.statuses(racing.client_order_id) == [S.SUBMITTED, S.NEW, S.FILLED]
    assert rig.ws.methods() == ["order.place", "order.place", "order.cancel", "order.cancel"]
    assert rig.fake.seen("DELETE", "/fapi/v1/order") == []
    assert len(rig.fake.seen("GET", "/fapi/v1/order")) == 1  # the -2011 is looked up


async def test_clock_error_resyncs_and_resends_once(ws_rig: MakeRig) -> None:
    fake = FakeAccount()
    fake.clock_skew_ms = -2500
    rig: WsRig = await ws_rig(fake=fake)
    order = intent(11)
    rig.client.submit(order)
    await rig.client.drain()
    assert rig.statuses(order.client_order_id) == [S.SUBMITTED, S.NEW, S.FILLED]
    places = [f for f in rig.ws.frames if f.method == "order.place"]
    assert len(places) == 2
    assert places[0].params["signature"] != places[1].params["signature"]
    assert len(fake.seen("GET", "/fapi/v1/time")) == 1
    assert len(fake.orders) == 1


async def test_rate_limit_closes_the_shared_gate(ws_rig: MakeRig) -> None:
    fake_time = FakeTime(time.time())
    gate = WeightGate(6000, wall=fake_time.wall, sleep=fake_time.sleep)
    rig: WsRig = await ws_rig(gate=gate)
    until = rig.client.api.transport.clock.now_ms() + 7000
    rig.ws.script("order.place", Act(error=(429, -1003, "Too many requests."),
                                     data={"serverTime": until - 7000, "retryAfter": until}))
    first, second = intent(12), intent(13)
    rig.client.submit(first)
    rig.client.submit(second)
    await rig.client.drain()
    assert rig.statuses(first.client_order_id) == [S.SUBMITTED, S.REJECTED]
    assert rig.statuses(second.client_order_id) == [S.SUBMITTED, S.NEW, S.FILLED]
    (alarm,) = rig.alarms()
    assert alarm.kind is AlarmKind.RATE_LIMITED
    assert alarm.retry_after_s == pytest.approx(7.0, abs=0.5)
    assert fake_time.sleeps == [pytest.approx(7.0, abs=0.5)]


async def test_algo_orders_stay_on_rest(ws_rig: MakeRig) -> None:
    rig: WsRig = await ws_rig()
    stop = intent(14, OrderType.STOP_MARKET, side=OrderSide.SELL, stop="48000",
                  reduce_only=True)
    rig.client.submit(stop)
    await rig.client.drain()
    assert rig.statuses(stop.client_order_id) == [S.SUBMITTED, S.NEW]
    assert len(rig.fake.seen("POST", "/fapi/v1/algoOrder")) == 1
    assert rig.ws.frames == []


# ----------------------------------------------------------------------------- transport


@pytest.fixture
async def transport() -> AsyncIterator[tuple[WsApiOrderTransport, FakeWsApi]]:
    fake = FakeAccount()
    ws = FakeWsApi(fake)
    runner, port = await start_app(fake.app)
    session = aiohttp.ClientSession()
    transport = WsApiOrderTransport(f"ws://127.0.0.1:{port}{WS_PATH}",
                                    ApiKey(API_KEY, HmacSigner(SECRET)), session=session,
                                    clock=ClockOffset(), timeout_s=0.3,
                                    backoff_initial_s=0.01, backoff_max_s=0.02)
    yield transport, ws
    await transport.close()
    await session.close()
    await runner.cleanup()


async def test_concurrent_requests_get_their_own_answers(
    transport: tuple[WsApiOrderTransport, FakeWsApi],
) -> None:
    client, fake_ws = transport
    orders = WsApiOrders(client)
    for n in range(5):
        fake_ws.account._create({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                 "quantity": "0.001", "price": "40000",
                                 "newClientOrderId": f"c{n}"}, True)
    views = await asyncio.gather(*(orders.order("BTCUSDT", f"c{n}") for n in range(5)))
    assert [v.client_order_id for v in views] == [f"c{n}" for n in range(5)]
    assert client.connects == 1
    with pytest.raises(Rejected) as missing:
        await orders.order("BTCUSDT", "nope")
    assert missing.value.code == -2013


async def test_unanswered_requests_read_transient_mutation_unknown(
    transport: tuple[WsApiOrderTransport, FakeWsApi],
) -> None:
    client, fake_ws = transport
    fake_ws.script("order.status", Act(silent=True))
    fake_ws.script("order.cancel", Act(silent=True))
    query = (("symbol", "BTCUSDT"), ("origClientOrderId", "x"))
    with pytest.raises(TransientError) as read:
        await client.request("order.status", query, mutation=False)
    assert not isinstance(read.value, UnknownOutcome)
    with pytest.raises(UnknownOutcome):
        await client.request("order.cancel", query, mutation=True)
    assert fake_ws.methods() == ["order.status", "order.cancel"]


async def test_late_answer_is_dropped_and_the_next_request_still_answered(
    transport: tuple[WsApiOrderTransport, FakeWsApi],
) -> None:
    client, fake_ws = transport
    fake_ws.account._create({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                             "quantity": "0.001", "price": "40000",
                             "newClientOrderId": "late"}, True)
    fake_ws.script("order.status", Act(delay_s=0.6))
    orders = WsApiOrders(client)
    with pytest.raises(TransientError):
        await orders.order("BTCUSDT", "late")
    client.timeout_s = 5.0  # the fake answers this one after the late one
    view = await orders.order("BTCUSDT", "late")
    assert view.client_order_id == "late"
    assert client.late_answers == 1
    assert client.connects == 1


async def test_connect_failure_is_transient_nothing_sent() -> None:
    async with aiohttp.ClientSession() as session:
        runner, port = await start_app(web.Application())  # no WS route: handshake fails
        try:
            client = WsApiOrderTransport(f"ws://127.0.0.1:{port}{WS_PATH}",
                                         ApiKey(API_KEY, HmacSigner(SECRET)), session=session,
                                         clock=ClockOffset())
            with pytest.raises(TransientError) as failed:
                await client.request("order.place", (), mutation=True)
            assert not isinstance(failed.value, UnknownOutcome)
            assert client.sent == 0
            await client.close()
        finally:
            await runner.cleanup()


def test_ws_api_option_is_checked() -> None:
    rest = SignedTransport("http://127.0.0.1:1", Market.SPOT,
                           ApiKey(API_KEY, HmacSigner(SECRET)),
                           session=None,  # type: ignore[arg-type]  # never used here
                           gate=WeightGate(6000), clock=ClockOffset())
    with pytest.raises(ValueError, match="USD-M only"):
        BinanceExecutionClient(BinanceTradingApi(rest), [],
                               options=ExecutionOptions(order_transport="ws_api",
                                                        ws_api_url="ws://127.0.0.1:1/x"))
    rest.market = Market.USDM
    with pytest.raises(ValueError, match="needs ws_api_url"):
        BinanceExecutionClient(BinanceTradingApi(rest), [],
                               options=ExecutionOptions(order_transport="ws_api"))
