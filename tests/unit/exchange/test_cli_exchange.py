"""``binbot exchange serve`` argument handling."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from binbot.cli.common import CommandError
from binbot.cli.exchange_cmd import options_from_args, parse_time_ms
from binbot.cli.main import build_parser

from .conftest import FIL


def test_start_accepts_iso_or_epoch_ms() -> None:
    assert parse_time_ms("1743465600000") == 1743465600000
    assert parse_time_ms("2025-04-01T00:00:00Z") == 1743465600000
    assert parse_time_ms("2025-04-01") == 1743465600000
    with pytest.raises(argparse.ArgumentTypeError):
        parse_time_ms("yesterday")


def test_serve_arguments_become_options() -> None:
    args = build_parser().parse_args([
        "exchange", "serve", "--data", str(FIL), f"ABCUSDT={FIL}", "--speed", "500",
        "--port", "0", "--start", "2025-04-02", "--anchor", "1800000000000",
        "--ping-interval", "3"])
    options = options_from_args(args)
    assert options.speed == 500.0
    assert options.port == 0
    assert options.start_ms == 1743552000000
    assert options.anchor_wall_ms == 1800000000000
    assert options.symbols == {str(FIL): "ABCUSDT"}
    assert options.ws.ping_interval_s == 3.0


def test_non_loopback_host_needs_allow_public() -> None:
    args = build_parser().parse_args(["exchange", "serve", "--data", str(FIL),
                                      "--host", "192.0.2.1"])
    with pytest.raises(CommandError, match="allow-public"):
        options_from_args(args)
    args = build_parser().parse_args(["exchange", "serve", "--data", str(FIL),
                                      "--host", "192.0.2.1", "--allow-public"])
    assert options_from_args(args).allow_public


def test_missing_data_file_is_a_clear_error() -> None:
    args = build_parser().parse_args(["exchange", "serve", "--data", "nope.csv"])
    with pytest.raises(CommandError, match="not found"):
        options_from_args(args)


def test_account_options(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = tmp_path / "k.pem"
    pem.write_bytes(key)
    listed = tmp_path / "accounts.json"
    listed.write_text(json.dumps([{"api_key": "filed", "ed25519_public_key_file": "k.pem",
                                   "futures_balances": {"USDT": "50"},
                                   "permissions": {"enableWithdrawals": True}}]))
    args = build_parser().parse_args([
        "exchange", "serve", "--data", str(FIL), "--account", "k1:s1", "--ed25519-key",
        f"k2:{pem}", "--accounts-file", str(listed), "--balance", "USDT=500",
        "--balance", "FIL=3", "--clock-skew-ms", "-250", "--listen-key-validity", "5"])
    options = options_from_args(args)
    assert [a.api_key for a in options.accounts] == ["k1", "k2", "filed"]
    assert options.accounts[0].hmac_secret == "s1"
    assert options.accounts[0].balances == {"USDT": "500", "FIL": "3"}
    assert options.accounts[1].ed25519_public_key_pem == key
    assert options.accounts[2].futures_wallet() == {"USDT": 50}
    assert options.accounts[2].permission("enableWithdrawals") is True
    assert (options.clock_skew_ms, options.listen_key_validity_s) == (-250, 5.0)


@pytest.mark.parametrize("argv", [
    ["--account", "no-secret"], ["--account", "a:b", "--account", "a:c"],
    ["--ed25519-key", "k:/no/such/file.pem"], ["--balance", "USDT=ten", "--account", "a:b"],
    ["--accounts-file", "/no/such/accounts.json"]])
def test_bad_account_options(argv: list[str]) -> None:
    args = build_parser().parse_args(["exchange", "serve", "--data", str(FIL), *argv])
    with pytest.raises(CommandError):
        options_from_args(args)


def test_help_documents_accounts(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["exchange", "serve", "-h"])
    text = capsys.readouterr().out
    for option in ("--account KEY:SECRET", "--ed25519-key KEY:PUBKEYFILE", "--accounts-file",
                   "--clock-skew-ms", "--listen-key-validity"):
        assert option in text
