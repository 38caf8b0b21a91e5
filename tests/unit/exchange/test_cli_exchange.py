"""``binbot exchange serve`` argument handling."""

from __future__ import annotations

import argparse

import pytest

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
