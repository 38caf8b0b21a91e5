"""Bad parameters get a 4xx with a reason, never a 500 (hand-picked cases, then fuzzing)."""

from __future__ import annotations

import string

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.api.conftest import AUTH

BAD = [
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "interval": "1x"}, "interval"),
    ("/api/v1/candles", {"symbol": "avax'; DROP TABLE candles"}, "symbol"),
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "limit": "0"}, "limit"),
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "limit": "1e309"}, "limit"),
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "limit": "NaN"}, "limit"),
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "from_ms": "-1"}, "from_ms"),
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "to_ms": "99999999999999999999"}, "to_ms"),
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "from_ms": "2000", "to_ms": "1000"}, "from_ms"),
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "market": "coinm"}, "market"),
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "indicators": "bb:0"}, "bb"),
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "indicators": "bb:20:2:1"}, "bb"),
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "indicators": "foo"}, "foo"),
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "indicators": "rsi:inf"}, "rsi"),
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "indicators": "macd:26:12"}, "macd"),
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "indicators": "sma:2.5"}, "sma"),
    ("/api/v1/candles", {"symbol": "AVAXUSDT", "interval": "1d", "from_ms": "0"}, "range"),
    ("/api/v1/trades", {"limit": "-5"}, "limit"),
    ("/api/v1/trades", {"before_id": "abc"}, "before_id"),
    ("/api/v1/trades", {"from_ms": "5", "to_ms": "1"}, "from_ms"),
    ("/api/v1/orders", {"status": "open; drop"}, "status"),
    ("/api/v1/orders", {"bot_id": "x" * 40}, "bot_id"),
    ("/api/v1/positions", {"bot_id": "../etc"}, "bot_id"),
    ("/api/v1/equity", {"max_points": "1"}, "max_points"),
    ("/api/v1/logs", {"level": "LOUD"}, "level"),
    ("/api/v1/logs", {"lines": "100000"}, "lines"),
    ("/api/v1/backtests", {"limit": "0"}, "limit"),
    ("/api/v1/bots/bad%20id", {}, "bot_id"),
]


@pytest.mark.parametrize(("path", "params", "mentions"), BAD)
def test_bad_parameters_get_422_with_a_reason(client: TestClient, path: str,
                                               params: dict[str, str], mentions: str) -> None:
    response = client.get(path, params=params, headers=AUTH)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert mentions in detail


def test_a_range_too_long_to_aggregate_is_explained(client: TestClient) -> None:
    response = client.get("/api/v1/candles", headers=AUTH, params={
        "symbol": "AVAXUSDT", "interval": "1w", "from_ms": "0"})
    assert response.status_code == 422
    assert "narrow" in response.json()["detail"]


def test_bad_json_bodies(client: TestClient) -> None:
    for body in (b"{", b"[]", b'{"token": 5}', b'{"token": ""}', b"null",
                 b'{"a":' * 200 + b"1" + b"}" * 200):
        response = client.post("/api/v1/login", content=body,
                               headers={"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (body[:20], response.status_code)


def test_bad_idempotency_key_is_rejected(make_client: object) -> None:
    from tests.unit.api.fake_runtime import FakeRuntime

    client = make_client(runtime=FakeRuntime())  # type: ignore[operator]
    response = client.post("/api/v1/bots/boll-avax/pause",
                           headers={**AUTH, "Idempotency-Key": "k" * 500})
    assert response.status_code == 422


_GETS = ["/api/v1/candles", "/api/v1/trades", "/api/v1/orders", "/api/v1/paper/orders",
         "/api/v1/positions", "/api/v1/signals", "/api/v1/equity", "/api/v1/logs",
         "/api/v1/backtests", "/api/v1/markets", "/api/v1/status"]
_NAMES = ["symbol", "interval", "market", "from_ms", "to_ms", "limit", "indicators", "bot_id",
          "status", "before_ms", "before_id", "max_points", "level", "lines", "contains",
          "strategy"]
_VALUES = st.one_of(
    st.text(alphabet=string.printable, max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["AVAXUSDT", "15m", "1w", "usdm", "bb,rsi,macd", "bb:1:0", "rsi:2",
                     "macd:1:2:1", "open", "FILLED", "boll-avax", "0", "1", "5000"]),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(_GETS), params=st.dictionaries(st.sampled_from(_NAMES), _VALUES,
                                                           max_size=5))
def test_fuzzed_queries_never_cause_a_server_error(client: TestClient, path: str,
                                                   params: dict[str, str]) -> None:
    response = client.get(path, params=params, headers=AUTH)
    assert response.status_code < 500, (path, params, response.text)
    if response.status_code >= 400:
        assert isinstance(response.json()["detail"], str)
