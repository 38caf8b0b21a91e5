"""Entry point: ``binbot <command> ...``. Each command group lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from binbot import __version__
from binbot.cli.common import CommandError, add_global_options

# Each module defines ``register(subparsers, parent)``, which adds its parser(s) and sets
# ``func(args) -> int`` as the handler default.
COMMAND_MODULES = (
    "binbot.cli.backtest_cmd",
    "binbot.cli.config_cmd",
    "binbot.cli.data_cmd",
    "binbot.cli.db_cmd",
    "binbot.cli.exchange_cmd",
    "binbot.cli.run_cmd",
    "binbot.cli.serve_cmd",
    "binbot.cli.status_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    add_global_options(parent)
    parser = argparse.ArgumentParser(prog="binbot", description="Binance automated trading")
    parser.add_argument("-V", "--version", action="version", version=f"binbot {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers, parent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except CommandError as e:
        print(f"binbot {args.command}: {e}", file=sys.stderr)  # noqa: T201
        return 1
    except KeyboardInterrupt:
        return 130
    return result
