from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from binbot.adapters.binance import endpoints
from binbot.adapters.binance.endpoints import DEMO, PROD, TESTNET, endpoints_for, local
from binbot.domain.market import Market

PACKAGE = Path(endpoints.__file__).parent


def test_presets_are_distinct_and_use_tls() -> None:
    for preset in (PROD, TESTNET, DEMO):
        for value in dataclasses.astuple(preset)[1:]:
            assert value == "" or value.startswith(("https://", "wss://"))
    assert PROD.rest_usdm == "https://fapi.binance.com"
    assert PROD.ws_usdm_root == "wss://fstream.binance.com"
    assert PROD.ws_api_usdm == "wss://ws-fapi.binance.com/ws-fapi/v1"
    assert TESTNET.ws_api_usdm == "wss://testnet.binancefuture.com/ws-fapi/v1"
    assert TESTNET.rest_spot == "https://testnet.binance.vision"
    assert len({PROD.rest_spot, TESTNET.rest_spot, DEMO.rest_spot}) == 3


def test_local_serves_everything_on_one_port() -> None:
    ep = local("127.0.0.1", 9100)
    assert ep.rest(Market.SPOT) == ep.rest(Market.USDM) == "http://127.0.0.1:9100"
    assert ep.ws_spot == ep.ws_usdm_root == "ws://127.0.0.1:9100"
    assert ep.ws_api_usdm == "ws://127.0.0.1:9100/ws-fapi/v1"
    assert ep.is_local
    assert not PROD.is_local


def test_endpoints_for_maps_config_venues() -> None:
    assert endpoints_for("binance") is PROD
    assert endpoints_for("testnet") is TESTNET
    assert endpoints_for("demo") is DEMO
    assert endpoints_for("local", "127.0.0.1", 8765).rest_spot == "http://127.0.0.1:8765"
    with pytest.raises(ValueError, match="unknown venue"):
        endpoints_for("mainnet")
    with pytest.raises(ValueError, match="port"):
        local("127.0.0.1", 0)


def test_no_other_module_contains_a_hostname() -> None:
    offenders = [
        path.name
        for path in PACKAGE.glob("*.py")
        if (path.name != "endpoints.py" and "binance.com" in path.read_text())
        or (path.name != "endpoints.py" and "binance.vision" in path.read_text())
    ]
    assert offenders == []
