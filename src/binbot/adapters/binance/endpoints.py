"""Every Binance host binbot talks to, in one value object (no other module holds a hostname)."""

from __future__ import annotations

from dataclasses import dataclass

from binbot.domain.market import Market


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Base URLs of one venue.

    ``ws_usdm_root`` is the USD-M stream root; streams live below it under ``/public`` (book
    data), ``/market`` (other public streams) and ``/private`` (user data). ``ws_api_usdm`` is the
    USD-M WebSocket API (order entry); empty where the venue has none.
    """

    name: str
    rest_spot: str
    rest_usdm: str
    ws_spot: str
    ws_usdm_root: str
    ws_api_spot: str
    ws_api_usdm: str = ""

    def rest(self, market: Market) -> str:
        return self.rest_usdm if market is Market.USDM else self.rest_spot

    @property
    def is_local(self) -> bool:
        return self.name == "local"


PROD = Endpoints(
    name="binance",
    rest_spot="https://api.binance.com",
    rest_usdm="https://fapi.binance.com",
    ws_spot="wss://stream.binance.com:9443",
    ws_usdm_root="wss://fstream.binance.com",
    ws_api_spot="wss://ws-api.binance.com:443/ws-api/v3",
    ws_api_usdm="wss://ws-fapi.binance.com/ws-fapi/v1",
)

TESTNET = Endpoints(
    name="testnet",
    rest_spot="https://testnet.binance.vision",
    rest_usdm="https://testnet.binancefuture.com",
    ws_spot="wss://stream.testnet.binance.vision",
    ws_usdm_root="wss://fstream.binancefuture.com",
    ws_api_spot="wss://ws-api.testnet.binance.vision/ws-api/v3",
    ws_api_usdm="wss://testnet.binancefuture.com/ws-fapi/v1",
)

# USD-M demo hosts have moved before: confirm against Binance's "General Info" page before a
# manual smoke run (see the protocol reference, section 1). No USD-M WS API is documented for
# demo, so orders there go over REST.
DEMO = Endpoints(
    name="demo",
    rest_spot="https://demo-api.binance.com",
    rest_usdm="https://demo-fapi.binance.com",
    ws_spot="wss://demo-stream.binance.com:9443",
    ws_usdm_root="wss://demo-fstream.binance.com",
    ws_api_spot="wss://demo-ws-api.binance.com/ws-api/v3",
)


def local(host: str, port: int) -> Endpoints:
    """The local Binance-compatible exchange: REST and WebSocket on one loopback port."""
    if not 0 < port < 65536:
        raise ValueError(f"port must be within 1..65535, was {port}")
    http = f"http://{host}:{port}"
    ws = f"ws://{host}:{port}"
    return Endpoints(
        name="local",
        rest_spot=http,
        rest_usdm=http,
        ws_spot=ws,
        ws_usdm_root=ws,
        ws_api_spot=f"{ws}/ws-api/v3",
        ws_api_usdm=f"{ws}/ws-fapi/v1",
    )


_PRESETS = {"binance": PROD, "testnet": TESTNET, "demo": DEMO}


def endpoints_for(venue: str, host: str = "127.0.0.1", port: int = 8765) -> Endpoints:
    """Map the configured venue (``binance``, ``testnet``, ``demo`` or ``local``) to endpoints.

    ``host`` and ``port`` are used by ``local`` only.
    """
    if venue == "local":
        return local(host, port)
    try:
        return _PRESETS[venue]
    except KeyError:
        raise ValueError(
            f"unknown venue, was {venue!r}; allowed: binance, testnet, demo, local"
        ) from None
