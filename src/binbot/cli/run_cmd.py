"""``binbot run``: the service (market data, bots with paper execution, dashboard and API)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

from binbot.cli.common import CommandError, settings_from_args

log = logging.getLogger(__name__)


async def _main(args: argparse.Namespace) -> None:
    from binbot.bootstrap import StartupError, run_service

    settings = settings_from_args(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_service(settings, stop)
    except StartupError as e:
        raise CommandError(str(e)) from None


def _run(args: argparse.Namespace) -> int:
    from binbot.core.logging import setup_logging
    from binbot.core.redaction import collect_secrets

    settings = settings_from_args(args)
    setup = setup_logging(settings.logging, settings.data_dir, collect_secrets(settings))
    try:
        asyncio.run(_main(args))
    finally:
        setup.close()
    return 0


def register(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    run = subparsers.add_parser(
        "run", parents=[parent],
        help="run the service: market data, bots (paper by default), dashboard and API")
    run.set_defaults(func=_run)
