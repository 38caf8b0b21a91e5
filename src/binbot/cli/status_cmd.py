"""``binbot status``: is the service up, does the API answer, how fresh is the market data, which
bots exist, and what went wrong lately. Exit code 0 when healthy, 2 when something is down."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import aiohttp
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine, column, create_engine, func, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from binbot.cli.common import settings_from_args
from binbot.config import Settings
from binbot.config.settings import ApiSettings
from binbot.core.logging import log_file_path, recent_errors

UNHEALTHY_EXIT: Final = 2
HEALTH_PATH: Final = "/api/v1/health"


@dataclass(frozen=True, slots=True)
class ServiceState:
    active: str  # active, inactive, failed, activating, ...
    sub: str
    restarts: str
    since: str


@dataclass(frozen=True, slots=True)
class ApiState:
    url: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class SeriesFreshness:
    market: str
    symbol: str
    interval: str
    last_open_ms: int


@dataclass(frozen=True, slots=True)
class BotRow:
    bot_id: str
    strategy: str
    symbol: str
    interval: str
    mode: str
    status: str


@dataclass(frozen=True, slots=True)
class DatabaseState:
    description: str
    note: str = ""
    series: tuple[SeriesFreshness, ...] = ()
    bots: tuple[BotRow, ...] | None = None  # None: no bots table yet


@dataclass(frozen=True, slots=True)
class StatusReport:
    service: ServiceState | None  # None: no systemd on this machine
    api: ApiState | None  # None: API disabled
    database: DatabaseState
    configured_bots: tuple[BotRow, ...]
    log_file: Path
    errors: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        service_ok = self.service is None or self.service.active == "active"
        api_ok = self.api is None or self.api.ok
        return service_ok and api_ok


# --- probes ---------------------------------------------------------------------------------


def service_state(name: str) -> ServiceState | None:
    """The unit's state from systemd; ``None`` when this machine does not run systemd."""
    systemctl = shutil.which("systemctl")
    if systemctl is None or not Path("/run/systemd/system").is_dir():
        return None
    properties = "ActiveState,SubState,NRestarts,ActiveEnterTimestamp"
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [systemctl, "show", f"{name}.service", f"--property={properties}"],
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return ServiceState("unknown", str(e), "", "")
    values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return ServiceState(
        active=values.get("ActiveState", "unknown"),
        sub=values.get("SubState", ""),
        restarts=values.get("NRestarts", ""),
        since=values.get("ActiveEnterTimestamp", ""),
    )


def health_url(api: ApiSettings) -> str:
    host = api.host
    if host in ("0.0.0.0", "::", "localhost", ""):  # noqa: S104 - a bind-all address, probed locally
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{api.port}{HEALTH_PATH}"


async def api_state(api: ApiSettings, timeout_s: float) -> ApiState | None:
    if not api.enabled:
        return None
    url = health_url(api)
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
            session.get(url) as response,
        ):
            body = (await response.text())[:200]
            return ApiState(url, response.status == 200, f"HTTP {response.status} {body}".strip())
    except (aiohttp.ClientConnectorError, OSError) as e:
        cause = getattr(e, "os_error", e)  # aiohttp wraps the socket error
        errno = getattr(cause, "errno", None)
        reason = os.strerror(errno) if isinstance(errno, int) else type(e).__name__
        return ApiState(url, False, f"not answering ({reason})")
    except (aiohttp.ClientError, TimeoutError) as e:
        return ApiState(url, False, f"not answering ({type(e).__name__})")


def _open_database(url: str) -> tuple[Engine | None, str]:
    """A read-only engine and a description that never shows credentials."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=False), f"{parsed.get_backend_name()} (URL hidden)"
    database = parsed.database or ""
    if not database or database == ":memory:":
        return None, "sqlite in memory"
    path = Path(database)
    if not path.is_file():
        return None, f"sqlite {path} (not created yet)"
    # mode=ro: a status check must never create or write the database.
    return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true"), f"sqlite {path}"


def database_state(url: str) -> DatabaseState:
    try:
        engine, description = _open_database(url)
    except (SQLAlchemyError, ValueError) as e:
        return DatabaseState("unusable database URL", note=type(e).__name__)
    if engine is None:
        return DatabaseState(description)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            series = _series_freshness(connection) if "candles" in tables else ()
            bots = _stored_bots(connection) if "bots" in tables else None
        note = "" if "candles" in tables else "no candles table yet"
        return DatabaseState(description, note=note, series=series, bots=bots)
    except SQLAlchemyError as e:
        return DatabaseState(description, note=f"cannot read it: {type(e).__name__}")
    finally:
        engine.dispose()


def _series_freshness(connection: Any) -> tuple[SeriesFreshness, ...]:
    candles = table("candles", column("market"), column("symbol"), column("interval"),
                    column("open_time"))
    query = (
        select(candles.c.market, candles.c.symbol, candles.c.interval,
               func.max(candles.c.open_time))
        .group_by(candles.c.market, candles.c.symbol, candles.c.interval)
        .order_by(candles.c.market, candles.c.symbol, candles.c.interval)
    )
    return tuple(
        SeriesFreshness(str(market), str(symbol), str(interval), int(last))
        for market, symbol, interval, last in connection.execute(query)
        if last is not None
    )


def _stored_bots(connection: Any) -> tuple[BotRow, ...]:
    names = ("bot_id", "strategy", "symbol", "interval", "mode", "status")
    bots = table("bots", *(column(name) for name in names))
    rows = connection.execute(select(*bots.c).order_by(bots.c.bot_id))
    return tuple(BotRow(*(str(value) for value in row)) for row in rows)


async def collect_status(
    settings: Settings, service: str, errors: int, timeout_s: float
) -> StatusReport:
    """Run every probe concurrently (the blocking ones in threads)."""
    log_file = log_file_path(settings.logging, settings.data_dir)
    service_result, api_result, database_result, error_lines = await asyncio.gather(
        asyncio.to_thread(service_state, service),
        api_state(settings.api, timeout_s),
        asyncio.to_thread(database_state, settings.database_url),
        asyncio.to_thread(recent_errors, log_file, errors),
    )
    configured = tuple(
        BotRow(bot.id, bot.strategy, bot.symbol, bot.interval, bot.mode, "configured")
        for bot in settings.bots
    )
    return StatusReport(service_result, api_result, database_result, configured, log_file,
                        error_lines)


# --- output ---------------------------------------------------------------------------------


def _age(ms: int, now_ms: int) -> str:
    seconds = max(0, (now_ms - ms) // 1000)
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    if seconds < 172800:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"


def render(report: StatusReport, console: Console, now_ms: int | None = None) -> None:
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    console.print(Text("binbot status", style="bold"))

    if report.service is None:
        console.print(Text.assemble("service   ", ("systemd not available here", "dim")))
    else:
        state = report.service
        style = "green" if state.active == "active" else "red"
        line = Text.assemble("service   ", (f"{state.active} ({state.sub})", style))
        if state.since:
            line.append(f" since {state.since}")
        if state.restarts:
            line.append(f", restarts {state.restarts}")
        console.print(line)

    if report.api is None:
        console.print(Text.assemble("api       ", ("disabled in the config", "dim")))
    else:
        style = "green" if report.api.ok else "red"
        console.print(Text.assemble("api       ", (report.api.url, ""), "  ",
                                    (report.api.detail, style)))

    database = report.database
    console.print(Text.assemble("database  ", database.description,
                                (f"  ({database.note})" if database.note else "", "yellow")))

    bots = database.bots if database.bots else report.configured_bots
    bot_table = Table(title="bots", title_justify="left")
    for heading in ("id", "strategy", "symbol", "interval", "mode", "status"):
        bot_table.add_column(heading)
    for bot in bots:
        bot_table.add_row(bot.bot_id, bot.strategy, bot.symbol, bot.interval, bot.mode,
                          bot.status)
    console.print(bot_table)

    if database.series:
        data_table = Table(title="last stored candle per series", title_justify="left")
        for heading in ("market", "symbol", "interval", "open time (UTC)", "age"):
            data_table.add_column(heading)
        for series in database.series:
            opened = datetime.fromtimestamp(series.last_open_ms / 1000, tz=UTC)
            data_table.add_row(series.market, series.symbol, series.interval,
                               opened.strftime("%Y-%m-%d %H:%M"),
                               _age(series.last_open_ms, now_ms))
        console.print(data_table)
    else:
        console.print(Text("market data: none stored yet", style="dim"))

    console.print(Text(f"recent errors ({report.log_file})", style="bold"))
    if not report.errors:
        console.print(Text("  none", style="green"))
    for error in report.errors:
        console.print(Text(f"  {error}", style="red"))


def _status(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    report = asyncio.run(collect_status(settings, args.service, args.errors, args.timeout))
    render(report, Console())
    return 0 if report.healthy else UNHEALTHY_EXIT


def register(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    status = subparsers.add_parser(
        "status", parents=[parent],
        help="service state, API health, bots, freshness of market data, recent errors",
        description="Exit code 0 when the service (if systemd runs here) is active and the API "
                    "answers its health check, 2 otherwise.",
    )
    status.add_argument("--service", default="binbot", help="systemd unit name (default binbot)")
    status.add_argument("--errors", type=int, default=10, metavar="N",
                        help="how many recent ERROR lines of the file log to show (default 10)")
    status.add_argument("--timeout", type=float, default=3.0, metavar="S",
                        help="seconds to wait for the API health check (default 3)")
    status.set_defaults(func=_status)
