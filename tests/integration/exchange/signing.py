"""A minimal signed Binance client for the exchange tests (written here on purpose: the
exchange is checked against Binance's documented rules, not against binbot's own client)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from yarl import URL

from binbot.exchange.accounts import AccountSpec
from binbot.exchange.server import LocalExchange

ManualClock = Callable[[], float]


@dataclass
class Signer:
    api_key: str
    secret: str | None = None
    private_key: Ed25519PrivateKey | None = None

    @classmethod
    def hmac(cls, api_key: str = "hmac-key", secret: str = "hmac-secret") -> Signer:  # noqa: S107
        return cls(api_key, secret=secret)

    @classmethod
    def ed25519(cls, api_key: str = "ed-key") -> Signer:
        return cls(api_key, private_key=Ed25519PrivateKey.generate())

    def spec(self, **overrides: Any) -> AccountSpec:
        if self.private_key is not None:
            pem = self.private_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            return AccountSpec(api_key=self.api_key, ed25519_public_key_pem=pem, **overrides)
        return AccountSpec(api_key=self.api_key, hmac_secret=self.secret, **overrides)

    def signature(self, payload: str) -> str:
        """As it goes on the wire (Ed25519's base64 percent-encoded)."""
        if self.private_key is not None:
            raw = base64.b64encode(self.private_key.sign(payload.encode())).decode()
            return quote(raw, safe="")
        assert self.secret is not None
        return hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()

    def ws_signature(self, payload: str) -> str:
        if self.private_key is not None:
            return base64.b64encode(self.private_key.sign(payload.encode())).decode()
        assert self.secret is not None
        return hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class Client:
    def __init__(self, http: aiohttp.ClientSession, exchange: LocalExchange, signer: Signer,
                 clock: ManualClock) -> None:
        self.http = http
        self.exchange = exchange
        self.signer = signer
        self.clock = clock
        self.last_headers: Any = None

    def query(self, params: dict[str, Any], timestamp_ms: int | None = None) -> str:
        full = dict(params)
        full.setdefault("timestamp", timestamp_ms if timestamp_ms is not None
                        else int(self.clock() * 1000))
        text = urlencode(full)
        return f"{text}&signature={self.signer.signature(text)}"

    async def raw(self, method: str, path: str, query: str = "", body: str | None = None,
                  api_key: str | None = "default",
                  wait_s: float | None = None) -> tuple[int, Any]:
        headers = {}
        key = self.signer.api_key if api_key == "default" else api_key
        if key is not None:
            headers["X-MBX-APIKEY"] = key
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        url = URL(self.exchange.base_url + path + ("?" + query if query else ""), encoded=True)
        client_timeout = aiohttp.ClientTimeout(total=wait_s) if wait_s else None
        async with self.http.request(method, url, headers=headers, data=body,
                                     timeout=client_timeout) as response:
            self.last_headers = response.headers
            return response.status, await response.json(content_type=None)

    async def call(self, method: str, path: str, params: dict[str, Any] | None = None,
                   status: int = 200, **kwargs: Any) -> Any:
        got, body = await self.raw(method, path, self.query(params or {}), **kwargs)
        assert got == status, body
        return body

    async def error(self, method: str, path: str, params: dict[str, Any] | None = None,
                    status: int = 400) -> int:
        body = await self.call(method, path, params, status=status)
        assert set(body) == {"code", "msg"}, body
        return int(body["code"])

    async def key_only(self, method: str, path: str, status: int = 200) -> Any:
        got, body = await self.raw(method, path)
        assert got == status, body
        return body

    def ws_params(self, **params: Any) -> dict[str, Any]:
        full: dict[str, Any] = {"apiKey": self.signer.api_key,
                                "timestamp": int(self.clock() * 1000), **params}
        payload = "&".join(f"{k}={full[k]}" for k in sorted(full))
        full["signature"] = self.signer.ws_signature(payload)
        return full


async def ws_json(ws: aiohttp.ClientWebSocketResponse, wait_s: float = 5.0) -> Any:
    message = await ws.receive(timeout=wait_s)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    return orjson.loads(message.data)
