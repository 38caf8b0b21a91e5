"""Signature checks as Binance makes them (server side; the client signs in its own module).

REST: the payload is the query string exactly as received followed by the request body, with
the ``signature`` parameter taken out. HMAC-SHA256 compares lowercase hex, case-insensitively;
Ed25519 checks the base64 signature (percent-decoded) with the account's public key.
WS-API: the payload is every param but ``signature``, sorted by name, ``k=v`` joined with ``&``,
not percent-encoded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def strip_signature(raw: str) -> tuple[str, str | None]:
    """``a=1&signature=ab&b=2`` -> (``a=1&b=2``, ``ab``): the signed part and the signature."""
    if not raw:
        return "", None
    kept: list[str] = []
    signature: str | None = None
    for part in raw.split("&"):
        if part.startswith("signature="):
            signature = part[len("signature="):]
        else:
            kept.append(part)
    return "&".join(kept), signature


def hmac_hex(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def verify_hmac(secret: str, payload: str, signature: str) -> bool:
    return hmac.compare_digest(hmac_hex(secret, payload), signature.lower())


def verify_ed25519(key: Ed25519PublicKey, payload: str, signature: str) -> bool:
    """``signature``: base64 (standard alphabet), possibly still percent-encoded."""
    try:
        raw = base64.b64decode(unquote(signature), validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        key.verify(raw, payload.encode())
    except InvalidSignature:
        return False
    return True


def verify_any(hmac_secret: str | None, ed25519: Ed25519PublicKey | None, payload: str,
               signature: str) -> bool:
    """An account with both kinds of key accepts either signature."""
    if hmac_secret is not None and verify_hmac(hmac_secret, payload, signature):
        return True
    return ed25519 is not None and verify_ed25519(ed25519, payload, signature)


def ws_api_payload(params: Mapping[str, Any]) -> str:
    """The WS-API signature payload: params but ``signature``, sorted, not percent-encoded."""
    parts = []
    for name in sorted(params):
        if name == "signature":
            continue
        value = params[name]
        if isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        parts.append(f"{name}={text}")
    return "&".join(parts)
