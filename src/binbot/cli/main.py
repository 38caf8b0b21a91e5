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
    "binbot.cli.bots_cmd",
    "binbot.cli.config_cmd",
    "binbot.cli.data_cmd",
    "binbot.cli.db_cmd",
    "binbot.cli.exchange_cmd",
    "binbot.cli.run_cmd",
    "binbot.cli.serve_cmd",
    "binbot.cli.status_cmd",
)


def _command_of(module: str) -> str:
    """``binbot.cli.<name>_cmd`` registers the command ``<name>``."""
    return module.rsplit(".", 1)[1].removesuffix("_cmd")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of ``command`` (importing a command group can be
    costly: the service must not carry the backtester's or the exchange's imports)."""
    parent = argparse.ArgumentParser(add_help=False)
    add_global_options(parent)
    parser = argparse.ArgumentParser(prog="binbot", description="Binance automated trading")
    parser.add_argument("-V", "--version", action="version", version=f"binbot {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        if command is None or _command_of(name) == command:
            importlib.import_module(name).register(subparsers, parent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    known = {_command_of(name) for name in COMMAND_MODULES}
    command = arguments[0] if arguments and arguments[0] in known else None
    parser = build_parser(command)
    args = parser.parse_args(arguments)
    try:
        result: int = args.func(args)
    except CommandError as e:
        print(f"binbot {args.command}: {e}", file=sys.stderr)  # noqa: T201
        return 1
    except KeyboardInterrupt:
        return 130
    return result
