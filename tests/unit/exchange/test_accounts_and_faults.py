"""Account definitions, fault specs of the account side, decimals and the ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from binbot.domain.market import Market
from binbot.exchange.accounts import (
    AccountSpec,
    AccountSpecError,
    check_unique,
    parse_balances,
    parse_hmac_account,
)
from binbot.exchange.decimals import NumberError, fixed, parse_decimal, plain
from binbot.exchange.faults import FaultController, FaultSpecError
from binbot.exchange.ledger import Ledger, LedgerEntry


def test_account_spec_validation() -> None:
    with pytest.raises(AccountSpecError):
        AccountSpec(api_key="k")  # no key material
    with pytest.raises(AccountSpecError):
        AccountSpec(api_key="a b", hmac_secret="s")
    with pytest.raises(AccountSpecError):
        AccountSpec(api_key="k", hmac_secret="s", permissions={"canFly": True})
    with pytest.raises(AccountSpecError):
        AccountSpec(api_key="k", hmac_secret="s", balances={"USDT": "-5"})
    with pytest.raises(AccountSpecError):
        AccountSpec(api_key="k", ed25519_public_key_pem=b"not a pem")
    x25519 = X25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(AccountSpecError):
        AccountSpec(api_key="k", ed25519_public_key_pem=x25519)
    good = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    spec = AccountSpec(api_key="k", ed25519_public_key_pem=good.decode())
    assert spec.ed25519_key() is not None
    assert spec.spot_wallet() == spec.futures_wallet() == {"USDT": Decimal(10000)}
    restrictions = spec.restrictions()
    assert restrictions["enableWithdrawals"] is False
    assert restrictions["enableFutures"] is True
    with pytest.raises(AccountSpecError):
        check_unique([spec, parse_hmac_account("k:other")])


def test_parse_balances() -> None:
    assert parse_balances(["usdt=5", "FIL=0.5"]) == {"USDT": "5", "FIL": "0.5"}
    for bad in ("USDT", "=5", "USDT=1e3", "US-DT=1"):
        with pytest.raises(AccountSpecError):
            parse_balances([bad])


def test_decimals() -> None:
    assert parse_decimal("0.10") == Decimal("0.10")
    for bad in ("1e3", "-1", "NaN", " 1", "1.", ".5", "1" * 21):
        with pytest.raises(NumberError):
            parse_decimal(bad)
    assert fixed(Decimal("1.23456"), 3) == "1.234"  # never rounds up
    assert fixed(Decimal("-0.0001"), 2) == "0.00"
    assert fixed(Decimal("1E-5"), 5) == "0.00001"
    assert plain(Decimal("2.500000")) == "2.5"
    assert plain(Decimal(0)) == "0"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_order_fault_specs() -> None:
    faults = FaultController(Clock())
    faults.apply({"kind": "execute_then_5xx", "variant": "timeout", "count": 2})
    faults.apply({"kind": "execute_then_delay", "seconds": 3})
    faults.apply({"kind": "rest_drop", "path": "/api/v3/order"})
    # After-execute faults never hit reads or non-order paths.
    assert faults.take_rest_fault("/fapi/v1/order", "GET") is None
    assert faults.take_rest_fault("/fapi/v1/listenKey", "POST") is None
    first = faults.take_rest_fault("/fapi/v1/order", "POST")
    assert first is not None
    assert (first.kind, first.status, first.after_execute) == ("execute_then_5xx", 503, True)
    assert first.body == {"code": -1007, "msg": "Timeout waiting for response from backend "
                          "server. Send status unknown; execution status unknown."}
    assert faults.take_rest_fault("/api/v3/order", "POST") is first
    delay = faults.take_rest_fault("/fapi/v1/algoOrder", "POST")
    assert delay is not None
    assert (delay.kind, delay.delay_s) == ("execute_then_delay", 3.0)
    drop = faults.take_rest_fault("/api/v3/order", "GET")
    assert drop is not None
    assert (drop.kind, drop.after_execute) == ("rest_drop", False)
    assert faults.take_rest_fault("/api/v3/order", "POST") is None


def test_user_fault_specs() -> None:
    clock = Clock()
    faults = FaultController(clock)
    calls: list[object] = []
    faults.bind_user(lambda mode: calls.append(("drop", mode)) or 2,
                     lambda key, as_string: calls.append(("expire", key, as_string)) or 1,
                     lambda: calls.append("terminate") or 3)
    assert faults.apply({"kind": "user_drop", "mode": "close"}) == {"kind": "user_drop",
                                                                     "dropped": 2}
    assert faults.apply({"kind": "listen_key_expire", "listen_key": "abc",
                         "e_as_string": True})["expired"] == 1
    assert faults.apply({"kind": "user_terminate"})["terminated"] == 3
    assert calls == [("drop", "close"), ("expire", "abc", True), "terminate"]
    faults.apply({"kind": "user_silence", "seconds": 5})
    assert faults.user_silent()
    clock.now += 5
    assert not faults.user_silent()
    faults.apply({"kind": "user_duplicate", "count": 2})
    assert [faults.take_user_duplicate() for _ in range(3)] == [True, True, False]
    faults.apply({"kind": "user_reorder"})
    assert [faults.take_user_reorder() for _ in range(2)] == [True, False]
    faults.base_skew_ms = 100
    faults.apply({"kind": "clock_skew", "ms": -2000})
    assert faults.clock_skew_ms == -1900
    assert faults.describe()["clock_skew_ms"] == -1900
    faults.clear()
    assert faults.clock_skew_ms == 100
    for bad in ({"kind": "clock_skew"}, {"kind": "execute_then_delay"},
                {"kind": "user_drop", "mode": "gently"}, {"kind": "execute_then_5xx",
                                                          "variant": "bogus"}):
        with pytest.raises(FaultSpecError):
            faults.apply(bad)


def test_ledger_queries() -> None:
    ledger = Ledger()

    def entry(cid: str, executed: bool, venue: Market = Market.USDM) -> LedgerEntry:
        return LedgerEntry(venue, "order", "k", cid, "FILUSDT", "BUY", "MARKET", executed,
                           1 if executed else None, None if executed else -1000, None, 0)

    ledger.record(entry("a", False))
    ledger.record(entry("a", True))
    ledger.record(entry("a", True, Market.SPOT))
    ledger.record(entry("b", True))
    assert len(ledger) == 4
    assert len(ledger.received("a")) == 3
    assert len(ledger.executed("a", Market.USDM)) == 1
    assert ledger.executions_per_client_id() == {"a": 2, "b": 1}
    assert ledger.entries[2].to_json()["venue"] == "spot"
    ledger.clear()
    assert ledger.received() == []
