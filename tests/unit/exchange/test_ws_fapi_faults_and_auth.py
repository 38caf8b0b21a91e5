"""Which faults the USD-M WebSocket API's order.place suffers, and the shared WS-API auth."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

import pytest

from binbot.exchange.accounts import AccountSpec
from binbot.exchange.faults import FaultController
from binbot.exchange.rest import BinanceError
from binbot.exchange.signatures import ws_api_payload
from binbot.exchange.signed_rest import Permission, SignedGate
from binbot.exchange.ws_auth import authenticate_ws

NOW_MS = 1_800_000_000_000


def test_execute_then_faults_hit_the_next_placement_whichever_transport() -> None:
    faults = FaultController(lambda: 0.0)
    faults.execute_then_drop()
    faults.rest_5xx()  # no path: REST only
    taken = faults.take_ws_order_fault()
    assert taken is not None and taken.kind == "execute_then_drop"
    assert faults.take_ws_order_fault() is None
    rest = faults.take_rest_fault("/fapi/v1/klines")
    assert rest is not None and rest.kind == "rest_5xx"


def test_path_narrows_order_faults_to_one_transport() -> None:
    faults = FaultController(lambda: 0.0)
    faults.execute_then_5xx(path="/fapi/v1/order")
    assert faults.take_ws_order_fault() is None
    faults.execute_then_delay(1.0, path="/ws-fapi/v1")
    assert faults.take_rest_fault("/fapi/v1/order", "POST") is not None  # the REST one
    assert faults.take_rest_fault("/fapi/v1/order", "POST") is None
    ws = faults.take_ws_order_fault()
    assert ws is not None and ws.kind == "execute_then_delay"


def test_refusing_faults_hit_the_ws_api_only_when_aimed_at_it() -> None:
    faults = FaultController(lambda: 0.0)
    faults.rest_drop(count=2, path="/ws-fapi")
    faults.rest_delay(1.0, path="/ws-fapi/v1")  # not a kind the WS API takes
    assert faults.take_ws_order_fault() is not None
    assert faults.take_ws_order_fault() is not None
    assert faults.take_ws_order_fault() is None
    assert faults.counters.by_kind["rest_drop"] == 2


def _gate() -> SignedGate:
    spec = AccountSpec(api_key="k", hmac_secret="s")
    return SignedGate({"k": spec}, lambda: NOW_MS)


def _signed(**params: object) -> dict[str, object]:
    full: dict[str, object] = {"apiKey": "k", "timestamp": NOW_MS, **params}
    full["signature"] = hmac.new(b"s", ws_api_payload(full).encode(), hashlib.sha256).hexdigest()
    return full


def test_ws_auth_returns_text_params_without_key_and_signature() -> None:
    auth = authenticate_ws(_gate(), _signed(quantity=Decimal("1.50"), reduceOnly=True),
                           Permission.FUTURES)
    assert auth.params == {"timestamp": str(NOW_MS), "quantity": "1.50", "reduceOnly": "true"}


@pytest.mark.parametrize(("change", "code"), [
    ({"signature": "ab"}, -1022), ({"timestamp": NOW_MS - 6000}, -1022),
    ({"apiKey": ""}, -2014), ({"apiKey": "other"}, -2015)])
def test_ws_auth_errors(change: dict[str, object], code: int) -> None:
    params = {**_signed(), **change}
    with pytest.raises(BinanceError) as err:
        authenticate_ws(_gate(), params)
    assert err.value.code == code


def test_logged_on_session_needs_only_a_fresh_timestamp() -> None:
    gate = _gate()
    assert authenticate_ws(gate, {"timestamp": NOW_MS}, Permission.READ, "k").spec.api_key == "k"
    with pytest.raises(BinanceError) as err:
        authenticate_ws(gate, {"timestamp": NOW_MS - 6000}, Permission.READ, "k")
    assert err.value.code == -1021
    with pytest.raises(BinanceError) as missing:
        authenticate_ws(gate, {}, Permission.READ, "k")
    assert missing.value.code == -1102
