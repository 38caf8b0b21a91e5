"""Request signing: HMAC-SHA256 (hex) and Ed25519 (base64) over the exact bytes sent.

REST: the payload is the percent-encoded query string in send order; the signature is appended
last (Ed25519's base64 percent-encoded) and the query is never re-encoded after signing.
WS-API: the payload is every param except ``signature``, sorted by name, joined as ``k=v`` with
``&`` and *not* percent-encoded; the signature goes into JSON as is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Protocol
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

ParamValue = str | int | bool


class Signer(Protocol):
    """Signs a payload; ``sign`` returns the signature as it goes into JSON (not URL-encoded)."""

    def sign(self, payload: str) -> str: ...


class HmacSigner:
    """HMAC-SHA256 with the secret key; output lowercase hex."""

    __slots__ = ("_key",)

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("HMAC secret must not be empty")
        self._key = secret.encode()

    def sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "HmacSigner(<redacted>)"


class Ed25519Signer:
    """Ed25519 with a PKCS#8 private key; output standard base64 with padding."""

    __slots__ = ("_key",)

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def from_pem(cls, pem: bytes, password: bytes | None = None) -> Ed25519Signer:
        key = load_pem_private_key(pem, password=password)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"expected an Ed25519 private key, was {type(key).__name__}")
        return cls(key)

    def sign(self, payload: str) -> str:
        return base64.b64encode(self._key.sign(payload.encode())).decode("ascii")

    def __repr__(self) -> str:
        return "Ed25519Signer(<redacted>)"


def _text(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_query(params: Iterable[tuple[str, ParamValue]]) -> str:
    """Percent-encode (UTF-8) every key and value, keeping the given order."""
    return "&".join(f"{quote(k, safe='')}={quote(_text(v), safe='')}" for k, v in params)


def signed_query(params: Iterable[tuple[str, ParamValue]], signer: Signer) -> str:
    """Return ``query&signature=…``, the exact string to put on the wire.

    ``params`` must already contain ``recvWindow`` and ``timestamp``.
    """
    query = encode_query(params)
    signature = quote(signer.sign(query), safe="")
    return f"{query}&signature={signature}" if query else f"signature={signature}"


def ws_api_payload(params: Mapping[str, ParamValue]) -> str:
    """The WS-API signature payload: params except ``signature``, sorted, not encoded."""
    return "&".join(
        f"{name}={_text(params[name])}" for name in sorted(params) if name != "signature"
    )


def sign_ws_api_params(params: Mapping[str, ParamValue], signer: Signer) -> dict[str, ParamValue]:
    """Return a copy of ``params`` with ``signature`` added (include ``apiKey`` beforehand)."""
    signed = dict(params)
    signed["signature"] = signer.sign(ws_api_payload(params))
    return signed
