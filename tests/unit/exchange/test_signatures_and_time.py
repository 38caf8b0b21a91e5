"""Server-side signature checks (Binance's documented vectors, generated Ed25519 keys) and the
timestamp / recvWindow rule."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from binbot.exchange.rest import BinanceError
from binbot.exchange.signatures import (
    hmac_hex,
    strip_signature,
    verify_any,
    verify_ed25519,
    verify_hmac,
    ws_api_payload,
)
from binbot.exchange.signed_rest import check_time

# The spot docs' SIGNED endpoint example (POST /api/v3/order, LTCBTC LIMIT).
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_QUERY = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
             "&recvWindow=5000&timestamp=1499827319559")
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_binance_documented_hmac_vector() -> None:
    assert hmac_hex(DOC_SECRET, DOC_QUERY) == DOC_SIGNATURE
    assert verify_hmac(DOC_SECRET, DOC_QUERY, DOC_SIGNATURE)
    assert verify_hmac(DOC_SECRET, DOC_QUERY, DOC_SIGNATURE.upper())  # case-insensitive
    assert not verify_hmac(DOC_SECRET, DOC_QUERY.replace("0.1", "0.2"), DOC_SIGNATURE)
    assert not verify_hmac(DOC_SECRET + "x", DOC_QUERY, DOC_SIGNATURE)


def test_query_then_body_payload() -> None:
    # The docs' mixed example: part in the query, part in the body, concatenated as is.
    query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
    body = "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    assert hmac_hex(DOC_SECRET, query + body) == (
        "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77")


def test_ws_api_payload_is_sorted_and_not_encoded() -> None:
    params = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "0.01000000", "price": "52000.00", "newOrderRespType": "ACK",
              "recvWindow": 100, "timestamp": 1645423376532, "apiKey": DOC_API_KEY,
              "signature": "ignored"}
    payload = ws_api_payload(params)
    assert payload.startswith("apiKey=vmPUZE6m")
    assert "&newOrderRespType=ACK&price=52000.00&" \
        in payload
    assert "signature" not in payload
    # The WS-API docs' HMAC example signature for that request.
    assert hmac_hex(DOC_SECRET, payload) == (
        "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a")
    assert ws_api_payload({"b": True, "a": "x y/z"}) == "a=x y/z&b=true"


def test_ed25519_generated_key() -> None:
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    raw = base64.b64encode(private.sign(DOC_QUERY.encode())).decode()
    assert verify_ed25519(public, DOC_QUERY, raw)
    assert verify_ed25519(public, DOC_QUERY, quote(raw, safe=""))  # as sent on the wire
    assert not verify_ed25519(public, DOC_QUERY + "&x=1", raw)
    assert not verify_ed25519(public, DOC_QUERY, "not base64!")
    other = Ed25519PrivateKey.generate().public_key()
    assert not verify_ed25519(other, DOC_QUERY, raw)
    assert verify_any(None, public, DOC_QUERY, raw)
    assert verify_any(DOC_SECRET, public, DOC_QUERY, DOC_SIGNATURE)
    assert not verify_any(None, None, DOC_QUERY, DOC_SIGNATURE)


def test_strip_signature() -> None:
    assert strip_signature("a=1&signature=ab") == ("a=1", "ab")
    assert strip_signature("signature=ab&a=1&b=2") == ("a=1&b=2", "ab")
    assert strip_signature("a=1") == ("a=1", None)
    assert strip_signature("") == ("", None)


SERVER = 1_800_000_000_000


@pytest.mark.parametrize(("timestamp", "window", "code"), [
    (SERVER, None, None), (SERVER + 999, None, None), (SERVER + 1000, None, -1021),
    (SERVER - 5000, None, None), (SERVER - 5001, None, -1021), (SERVER - 100, "100", None),
    (SERVER - 101, "100", -1021), (SERVER - 60_000, "60000", None),
    (SERVER * 1000, None, None),  # microseconds (spot)
    (SERVER, "60001", -1131), (SERVER, "abc", -1100), (SERVER, "0", -1100)])
def test_timestamp_rule(timestamp: int, window: str | None, code: int | None) -> None:
    params = {"timestamp": str(timestamp)}
    if window is not None:
        params["recvWindow"] = window
    if code is None:
        check_time(params, SERVER)
    else:
        with pytest.raises(BinanceError) as error:
            check_time(params, SERVER)
        assert error.value.code == code


def test_timestamp_mandatory_and_numeric() -> None:
    with pytest.raises(BinanceError) as error:
        check_time({}, SERVER)
    assert error.value.code == -1102
    with pytest.raises(BinanceError) as error:
        check_time({"timestamp": "-5"}, SERVER)
    assert error.value.code == -1100
