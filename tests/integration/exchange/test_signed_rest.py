"""Signed requests: API key, HMAC and Ed25519 signatures over the exact bytes, timestamps."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp
import pytest

from binbot.exchange.server import LocalExchange

from .conftest import MakeExchange, ManualClock, assert_same_shape
from .signing import Client, Signer

ACCOUNT = "/fapi/v3/balance"


async def test_hmac_signed_request_is_accepted(client: Client) -> None:
    body = await client.call("GET", ACCOUNT)
    assert body[0]["asset"] == "USDT"
    assert body[0]["balance"] == "10000.00000000"


async def test_ed25519_key_signs_rest_and_percent_encoded_signature(
        make_exchange: MakeExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    signer = Signer.ed25519()
    exchange = await make_exchange(accounts=[signer.spec()])
    client = Client(http, exchange, signer, clock)
    assert (await client.call("GET", "/api/v3/account"))["accountType"] == "SPOT"
    # Signatures of many payloads: base64 with '+', '/' and '=' all percent-encoded.
    for n in range(20):
        await client.call("GET", "/fapi/v3/balance", {"recvWindow": 1000 + n})
    query = urlencode({"timestamp": int(clock() * 1000)})
    hmac_signer = Signer.hmac(signer.api_key, "not-this-account's")
    status, body = await client.raw("GET", "/api/v3/account",
                                    f"{query}&signature={hmac_signer.signature(query)}")
    assert (status, body["code"]) == (400, -1022)
    status, body = await client.raw("GET", "/api/v3/account", f"{query}&signature=AAAA")
    assert (status, body["code"]) == (400, -1022)


async def test_key_errors(client: Client) -> None:
    status, body = await client.raw("GET", ACCOUNT, client.query({}), api_key=None)
    assert (status, body["code"]) == (401, -2014)
    status, body = await client.raw("GET", ACCOUNT, client.query({}), api_key="nobody")
    assert (status, body["code"]) == (401, -2015)
    assert body["msg"] == "Invalid API-key, IP, or permissions for action."


async def test_signature_errors(client: Client, clock: ManualClock) -> None:
    ts = int(clock() * 1000)
    status, body = await client.raw("GET", ACCOUNT, f"timestamp={ts}")
    assert (status, body["code"]) == (400, -1102)
    assert "'signature'" in body["msg"]
    status, body = await client.raw("GET", ACCOUNT, f"timestamp={ts}&signature=00ff")
    assert (status, body["code"]) == (400, -1022)
    assert body["msg"] == "Signature for this request is not valid."
    # Changing one byte after signing breaks it: what is verified is what arrived.
    signed = client.query({"recvWindow": 5000})
    tampered = signed.replace("recvWindow=5000", "recvWindow=5001")
    status, body = await client.raw("GET", ACCOUNT, tampered)
    assert body["code"] == -1022
    # HMAC is compared case-insensitively.
    query, _, sig = signed.partition("&signature=")
    status, _ = await client.raw("GET", ACCOUNT, f"{query}&signature={sig.upper()}")
    assert status == 200
    status, body = await client.raw("GET", ACCOUNT, "signature=00")
    assert body["code"] == -1102
    assert "'timestamp'" in body["msg"]


async def test_signature_over_query_and_form_body(client: Client, clock: ManualClock) -> None:
    query = "symbol=FILUSDT"
    body = urlencode({"leverage": 7, "timestamp": int(clock() * 1000)})
    sig = client.signer.signature(query + body)
    status, answer = await client.raw("POST", "/fapi/v1/leverage", query,
                                      body=f"{body}&signature={sig}")
    assert status == 200, answer
    assert answer["leverage"] == 7
    status, answer = await client.raw("POST", "/fapi/v1/leverage", query,
                                      body=f"{body}&signature={client.signer.signature(body)}")
    assert answer["code"] == -1022


@pytest.mark.parametrize(("offset_ms", "window", "ok"), [
    (0, None, True), (999, None, True), (1000, None, False), (-5000, None, True),
    (-5001, None, False), (-59_000, 60_000, True), (-61_000, 60_000, False)])
async def test_timestamp_and_recv_window(client: Client, clock: ManualClock, offset_ms: int,
                                         window: int | None, ok: bool) -> None:
    params = {} if window is None else {"recvWindow": window}
    status, body = await client.raw("GET", ACCOUNT, client.query(
        params, timestamp_ms=int(clock() * 1000) + offset_ms))
    if ok:
        assert status == 200, body
    else:
        assert (status, body["code"]) == (400, -1021)
        expected = ("Timestamp for this request was 1000ms ahead of the server's time."
                    if offset_ms > 0 else
                    "Timestamp for this request is outside of the recvWindow.")
        assert body["msg"] == expected


async def test_recv_window_above_max(client: Client) -> None:
    assert await client.error("GET", ACCOUNT, {"recvWindow": 60_001}) == -1131


async def test_timestamps_use_the_wall_clock_not_the_market(client: Client,
                                                            trading: LocalExchange,
                                                            clock: ManualClock) -> None:
    # The replayed market is in 2025; the signed clock is the (manual) wall clock.
    market_ms = trading.engine.now_ms
    assert abs(market_ms - clock() * 1000) > 10**9
    _status, body = await client.raw("GET", ACCOUNT, client.query({}, timestamp_ms=market_ms))
    assert body["code"] == -1021
    async with client.http.get(trading.base_url + "/__sim/time") as response:
        times = await response.json()
    assert times == {"signingTime": int(clock() * 1000), "virtualTime": trading.engine.now_ms}


async def test_clock_skew_is_configurable_and_injectable(make_exchange: MakeExchange,
                                                         http: aiohttp.ClientSession,
                                                         clock: ManualClock) -> None:
    signer = Signer.hmac()
    exchange = await make_exchange(accounts=[signer.spec()], clock_skew_ms=2000)
    client = Client(http, exchange, signer, clock)
    # A client 2 s behind the server: its timestamp is older than the 1 s window.
    assert await client.error("GET", ACCOUNT, {"recvWindow": 1000}) == -1021
    assert (await client.call("GET", ACCOUNT, {"recvWindow": 3000}))[0]["asset"] == "USDT"
    exchange.set_clock_skew(-2000)  # now the server is exactly at wall time
    await client.call("GET", ACCOUNT, {"recvWindow": 1000})
    exchange.faults.apply({"kind": "clock_skew", "ms": -4000})  # 2 s behind the client
    assert await client.error("GET", ACCOUNT) == -1021
    exchange.faults.clear()
    assert await client.error("GET", ACCOUNT, {"recvWindow": 1000}) == -1021


async def test_permissions(make_exchange: MakeExchange, http: aiohttp.ClientSession,
                           clock: ManualClock) -> None:
    reader = Signer.hmac("reader", "s")
    withdrawer = Signer.hmac("withdrawer", "t")
    exchange = await make_exchange(accounts=[
        reader.spec(permissions={"enableFutures": False, "enableSpotAndMarginTrading": False,
                                 "ipRestrict": False}),
        withdrawer.spec(permissions={"enableWithdrawals": True})])
    read = Client(http, exchange, reader, clock)
    order = {"symbol": "FILUSDT", "side": "BUY", "type": "MARKET", "quantity": "10"}
    assert await read.error("POST", "/fapi/v1/order", order, status=401) == -2015
    assert await read.error("POST", "/api/v3/order", order, status=401) == -2015
    await read.call("GET", "/fapi/v3/account")
    restrictions = await read.call("GET", "/sapi/v1/account/apiRestrictions")
    assert restrictions["ipRestrict"] is False
    assert restrictions["enableFutures"] is False
    assert restrictions["enableWithdrawals"] is False
    assert_same_shape(restrictions, {
        "ipRestrict": False, "createTime": 1698645219000, "enableReading": True,
        "enableWithdrawals": False, "enableInternalTransfer": False, "enableMargin": False,
        "enableFutures": False, "permitsUniversalTransfer": False, "enableVanillaOptions": False,
        "enableFixApiTrade": False, "enableFixReadOnly": True,
        "enableSpotAndMarginTrading": False, "enablePortfolioMarginTrading": False})
    draw = Client(http, exchange, withdrawer, clock)
    assert (await draw.call("GET", "/sapi/v1/account/apiRestrictions"))["enableWithdrawals"]
    assert (await draw.call("GET", "/api/v3/account"))["canWithdraw"] is True
    assert (await draw.call("GET", "/fapi/v3/account"))["canWithdraw"] is True
    assert (await read.call("GET", "/api/v3/account"))["canWithdraw"] is False


async def test_signed_endpoints_without_accounts_refuse(exchange: LocalExchange,
                                                        http: aiohttp.ClientSession,
                                                        clock: ManualClock) -> None:
    client = Client(http, exchange, Signer.hmac(), clock)
    assert await client.error("GET", ACCOUNT, status=401) == -2015
    # market data still needs no key
    async with http.get(exchange.base_url + "/fapi/v1/time") as response:
        assert response.status == 200


async def test_virtual_signing_clock_follows_time_endpoint(make_exchange: MakeExchange,
                                                           http: aiohttp.ClientSession,
                                                           clock: ManualClock) -> None:
    signer = Signer.hmac()
    exchange = await make_exchange(accounts=[signer.spec()], signing_clock="virtual")
    client = Client(http, exchange, signer, clock)
    async with http.get(exchange.base_url + "/fapi/v1/time") as response:
        server = (await response.json())["serverTime"]
    status, _ = await client.raw("GET", ACCOUNT, client.query({}, timestamp_ms=server))
    assert status == 200
    status, body = await client.raw("GET", ACCOUNT, client.query({}))  # a wall-clock stamp
    assert (status, body["code"]) == (400, -1021)
    with pytest.raises(ValueError, match="signing_clock"):
        await make_exchange(accounts=[signer.spec()], signing_clock="sundial")
