from __future__ import annotations

import base64
from urllib.parse import unquote

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from binbot.adapters.binance.signing import (
    Ed25519Signer,
    HmacSigner,
    encode_query,
    sign_ws_api_params,
    signed_query,
    ws_api_payload,
)

DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"


def test_spot_rest_hmac_documented_vector() -> None:
    params = [
        ("symbol", "LTCBTC"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"),
        ("quantity", 1), ("price", "0.1"), ("recvWindow", 5000), ("timestamp", 1499827319559),
    ]
    query = signed_query(params, HmacSigner(DOC_SECRET))
    assert query == (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
        "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )


def test_ws_api_hmac_documented_vector() -> None:
    params = {
        "symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.01000000", "price": "52000.00", "recvWindow": 100,
        "timestamp": 1645423376532, "apiKey": DOC_API_KEY,
    }
    assert ws_api_payload(params) == (
        f"apiKey={DOC_API_KEY}&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL"
        "&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT"
    )
    signed = sign_ws_api_params(params, HmacSigner(DOC_SECRET))
    assert signed["signature"] == "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
    assert "signature" not in params


def test_ws_api_payload_is_not_percent_encoded() -> None:
    params = {
        "symbol": "１２３４５６", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "1.00000000", "price": "0.10000000", "recvWindow": 5000,
        "timestamp": 1645423376532, "apiKey": DOC_API_KEY,
    }
    signed = sign_ws_api_params(params, HmacSigner(DOC_SECRET))
    # The docs' second example (non-ASCII symbol).
    assert signed["signature"] == "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd"


def test_rest_query_percent_encodes_values_before_signing() -> None:
    query = encode_query([("symbol", "１２３"), ("note", "a b&c=d/e")])
    assert query == "symbol=%EF%BC%91%EF%BC%92%EF%BC%93&note=a%20b%26c%3Dd%2Fe"
    signed = signed_query([("symbol", "１２３"), ("timestamp", 1)], HmacSigner(DOC_SECRET))
    payload, _, signature = signed.rpartition("&signature=")
    assert signature == HmacSigner(DOC_SECRET).sign(payload)


def test_ed25519_sign_then_verify_with_pkcs8_pem() -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    signer = Ed25519Signer.from_pem(pem)
    query = signed_query([("symbol", "BTCUSDT"), ("timestamp", 1_700_000_000_000)], signer)
    payload, _, encoded = query.rpartition("&signature=")
    assert "+" not in encoded
    assert "/" not in encoded
    assert "=" not in encoded
    raw = base64.b64decode(unquote(encoded))
    assert len(raw) == 64
    key.public_key().verify(raw, payload.encode())
    with pytest.raises(InvalidSignature):
        key.public_key().verify(raw, (payload + "0").encode())


def test_ed25519_ws_api_signature_is_plain_base64() -> None:
    key = Ed25519PrivateKey.generate()
    signer = Ed25519Signer(key)
    params = {"apiKey": "k", "timestamp": 5}
    signed = sign_ws_api_params(params, signer)
    key.public_key().verify(base64.b64decode(str(signed["signature"])), b"apiKey=k&timestamp=5")


def test_signers_never_show_secrets() -> None:
    assert DOC_SECRET not in repr(HmacSigner(DOC_SECRET))
    ec = generate_private_key(SECP256R1())
    pem = ec.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    with pytest.raises(ValueError, match="Ed25519"):
        Ed25519Signer.from_pem(pem)
