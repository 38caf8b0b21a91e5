"""``binbot run``: the service (market data, bots, dashboard and API) and ``binbot halt``,
the kill switch that works without the dashboard."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import Any

from binbot.cli.common import CommandError, settings_from_args

log = logging.getLogger(__name__)

PID_FILE = "binbot.pid"


async def _main(args: argparse.Namespace) -> None:
    from binbot.bootstrap import ServiceHandle, StartupError, run_service

    settings = settings_from_args(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ready: asyncio.Future[ServiceHandle] = loop.create_future()
    pid_file = settings.data_dir / PID_FILE
    kills: set[asyncio.Task[list[str]]] = set()

    def kill_switch() -> None:
        handle = ready.result() if ready.done() else None
        if handle is None:
            log.warning("kill switch ignored: the service is still starting")
            return
        task = loop.create_task(handle.runtime.kill_all("kill switch (SIGUSR1)"))
        kills.add(task)
        task.add_done_callback(kills.discard)

    loop.add_signal_handler(signal.SIGUSR1, kill_switch)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")
    try:
        await run_service(settings, stop, ready)
    except StartupError as e:
        raise CommandError(str(e)) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            pid_file.unlink()


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


def _halt(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    pid_file: Path = settings.data_dir / PID_FILE
    try:
        pid = int(pid_file.read_text(encoding="utf-8").strip())
    except (FileNotFoundError, ValueError):
        raise CommandError(f"no running service found ({pid_file} is missing)") from None
    try:
        os.kill(pid, signal.SIGUSR1)
    except ProcessLookupError:
        raise CommandError(f"the service (pid {pid}) is not running") from None
    print(f"kill switch sent to the service (pid {pid}): every bot cancels its orders, "  # noqa: T201
          "flattens and halts until resumed")
    return 0


def register(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    run = subparsers.add_parser(
        "run", parents=[parent],
        help="run the service: market data, bots (paper by default), dashboard and API")
    run.set_defaults(func=_run)
    halt = subparsers.add_parser(
        "halt", parents=[parent],
        help="kill switch: every bot cancels its orders, flattens and halts (no dashboard needed)")
    halt.set_defaults(func=_halt)
