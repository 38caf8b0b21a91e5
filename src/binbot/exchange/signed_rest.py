"""Authentication of SIGNED and USER_STREAM REST requests, as Binance does it.

Order of checks: ``X-MBX-APIKEY`` present and known (-2014 / -2015, HTTP 401), the key's
permission for the endpoint (-2015), mandatory ``timestamp`` and ``signature`` (-1102),
``recvWindow`` at most 60000 (-1131), the signature over the exact bytes received (-1022), then
the time: ``timestamp >= server + 1000`` or ``server - timestamp > recvWindow`` -> -1021.

"server" time here is the wall clock (``ExchangeOptions.wall_clock``, injectable) plus
``clock_skew_ms``: the market replays on a virtual clock, but a client's signing clock is
compared with real time. Parameters may come in the query string or an
``application/x-www-form-urlencoded`` body; the query wins on duplicates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import web

from binbot.exchange.accounts import AccountSpec
from binbot.exchange.rest import BinanceError
from binbot.exchange.signatures import strip_signature, verify_any

MAX_RECV_WINDOW_MS: Final = 60_000
DEFAULT_RECV_WINDOW_MS: Final = 5_000
_MICROSECONDS: Final = 10**14


class Security(Enum):
    USER_STREAM = "USER_STREAM"  # API key only
    SIGNED = "SIGNED"  # API key, timestamp and signature


class Permission(Enum):
    READ = "enableReading"
    SPOT_TRADE = "enableSpotAndMarginTrading"
    FUTURES = "enableFutures"


@dataclass(frozen=True, slots=True)
class Authenticated:
    spec: AccountSpec
    params: dict[str, str]


async def raw_params(request: web.Request) -> dict[str, str]:
    """Query and form-body parameters (the query wins), without any check."""
    params: dict[str, str] = {}
    if request.can_read_body:
        body = (await request.read()).decode("utf-8", errors="replace")
        params.update(parse_qsl(body, keep_blank_values=True))
    params.update(parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True))
    return params


def _bad_key() -> BinanceError:
    return BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def check_time(params: dict[str, str], server_ms: int) -> None:
    """Binance's ``timestamp`` / ``recvWindow`` rule (raises -1102, -1100, -1131, -1021)."""
    raw_ts = params.get("timestamp", "")
    if raw_ts == "":
        raise BinanceError(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, "
                                  "or malformed.")
    if not raw_ts.isdigit() or len(raw_ts) > 20:
        raise BinanceError(-1100, "Illegal characters found in parameter 'timestamp'; legal "
                                  "range is '^[0-9]{1,20}$'.")
    timestamp = int(raw_ts)
    if timestamp >= _MICROSECONDS:  # spot accepts microseconds
        timestamp //= 1000
    window = Decimal(DEFAULT_RECV_WINDOW_MS)
    raw_window = params.get("recvWindow")
    if raw_window not in (None, ""):
        try:
            window = Decimal(raw_window)
        except InvalidOperation:
            raise BinanceError(-1100, "Illegal characters found in parameter 'recvWindow'; "
                                      "legal range is '^[0-9]{1,20}$'.") from None
        if not window.is_finite() or window <= 0:
            raise BinanceError(-1100, "Illegal characters found in parameter 'recvWindow'.")
        if window > MAX_RECV_WINDOW_MS:
            raise BinanceError(-1131, "recvWindow must be less than 60000")
    if timestamp >= server_ms + 1000:
        raise BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's "
                                  "time.")
    if server_ms - timestamp > window:
        raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


class SignedGate:
    def __init__(self, accounts: dict[str, AccountSpec], server_ms: Callable[[], int]) -> None:
        self._accounts = accounts
        self._server_ms = server_ms
        self._ed25519 = {key: spec.ed25519_key() for key, spec in accounts.items()}

    def verify(self, spec: AccountSpec, payload: str, signature: str) -> bool:
        return verify_any(spec.hmac_secret, self._ed25519.get(spec.api_key), payload, signature)

    def server_ms(self) -> int:
        return self._server_ms()

    def account(self, api_key: str | None) -> AccountSpec:
        if api_key is None or api_key == "":
            raise BinanceError(-2014, "API-key format invalid.", 401)
        spec = self._accounts.get(api_key)
        if spec is None:
            raise _bad_key()
        return spec

    async def authenticate(self, request: web.Request, security: Security,
                           permission: Permission = Permission.READ) -> Authenticated:
        spec = self.account(request.headers.get("X-MBX-APIKEY"))
        if not spec.permission(Permission.READ.value) or (
                permission is not Permission.READ and not spec.permission(permission.value)):
            raise _bad_key()
        raw_query = request.rel_url.raw_query_string
        body = ""
        if request.can_read_body:
            body = (await request.read()).decode("utf-8", errors="replace")
        params: dict[str, str] = {}
        for name, value in parse_qsl(body, keep_blank_values=True):
            params[name] = value
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            params[name] = value  # the query wins
        if security is Security.USER_STREAM:
            return Authenticated(spec, params)
        signed_query, query_sig = strip_signature(raw_query)
        signed_body, body_sig = strip_signature(body)
        signature = query_sig if query_sig is not None else body_sig
        if params.get("timestamp", "") == "":
            raise BinanceError(-1102, "Mandatory parameter 'timestamp' was not sent, was "
                                      "empty/null, or malformed.")
        if not signature:
            raise BinanceError(-1102, "Mandatory parameter 'signature' was not sent, was "
                                      "empty/null, or malformed.")
        window = params.get("recvWindow")
        if window not in (None, ""):
            try:
                too_big = Decimal(window) > MAX_RECV_WINDOW_MS
            except InvalidOperation:
                too_big = False
            if too_big:
                raise BinanceError(-1131, "recvWindow must be less than 60000")
        payload = signed_query + signed_body
        if not self.verify(spec, payload, signature):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        check_time(params, self._server_ms())
        params.pop("signature", None)
        return Authenticated(spec, params)
