"""Signed WebSocket-API requests (spot ``/ws-api/v3`` and USD-M ``/ws-fapi/v1``), as Binance
checks them.

The signature covers every param but ``signature``, sorted by name, ``k=v`` joined with ``&``
and not percent-encoded (``signatures.ws_api_payload``): HMAC-SHA256 hex or Ed25519 base64.
Checks, in order: ``apiKey`` known (-2014 / -2015), the key's permission, mandatory
``timestamp`` and ``signature`` (-1102), the signature (-1022), then the time rule shared with
REST (``check_time``: -1021, -1131). A session that logged on (``session.logon``) may leave
``apiKey`` and ``signature`` out: only the time is checked then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from binbot.exchange.rest import BinanceError
from binbot.exchange.signatures import ws_api_payload
from binbot.exchange.signed_rest import Authenticated, Permission, SignedGate, check_time


def as_text(value: Any) -> str:
    """A JSON param value as the signature payload spells it."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def text_params(params: Mapping[str, Any]) -> dict[str, str]:
    return {name: as_text(value) for name, value in params.items()}


def _mandatory_missing(name: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, "
                               "or malformed.")


def authenticate_ws(gate: SignedGate, params: Mapping[str, Any],
                    permission: Permission | None = None,
                    session_key: str | None = None) -> Authenticated:
    """Check a signed WS-API request; the result's params exclude ``apiKey`` and
    ``signature``. ``permission`` None skips the permission check (user-stream methods)."""
    text = text_params(params)
    signature = text.get("signature", "")
    api_key = text.get("apiKey", "")
    logged_on = session_key is not None and not signature and not api_key
    spec = gate.account(session_key if logged_on else api_key)
    if permission is not None and (
            not spec.permission(Permission.READ.value)
            or (permission is not Permission.READ and not spec.permission(permission.value))):
        raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    if not text.get("timestamp"):
        raise _mandatory_missing("timestamp")
    if not logged_on:
        if not signature:
            raise _mandatory_missing("signature")
        if not gate.verify(spec, ws_api_payload(params), signature):
            raise BinanceError(-1022, "Signature for this request is not valid.")
    check_time(text, gate.server_ms())
    text.pop("signature", None)
    text.pop("apiKey", None)
    return Authenticated(spec, text)
