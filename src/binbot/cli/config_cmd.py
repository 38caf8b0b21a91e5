"""``binbot config show|check``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from pydantic import SecretStr

from binbot.cli.common import settings_from_args

MASK = "********"


def _masked(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def _show(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    dumped = _masked(settings.model_dump(mode="python"))
    print(json.dumps(dumped, indent=2, default=str))  # noqa: T201
    return 0


def _check(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    bots = ", ".join(f"{bot.id} ({bot.strategy} {bot.symbol} {bot.interval} {bot.mode})"
                     for bot in settings.bots)
    print(f"config OK; data dir {settings.data_dir}; bots: {bots or 'none'}")  # noqa: T201
    return 0


def register(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    config = subparsers.add_parser("config", help="show or check the configuration")
    actions = config.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", parents=[parent],
                              help="print the effective config, secrets masked")
    show.set_defaults(func=_show)
    check = actions.add_parser("check", parents=[parent],
                               help="validate the config and explain errors")
    check.set_defaults(func=_check)
