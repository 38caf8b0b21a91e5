"""``binbot data import|export|download|list``: candle history in the database."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy import Engine

from binbot.cli.common import CommandError, settings_from_args
from binbot.config import Settings
from binbot.domain.market import INTERVALS, Market
from binbot.services.archive_export import EXPORT_FORMATS, export_arrays
from binbot.services.archive_import import ImportFailure, ImportResult, import_kline_files
from binbot.services.kline_archive import name_parts
from binbot.storage.candles import SqlCandleStore
from binbot.storage.database import make_engine
from binbot.storage.migrate import SchemaTooNew, upgrade
from binbot.storage.writer import Writer


def open_database(settings: Settings) -> Engine:
    """The configured database, migrated to this version's schema."""
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
    except SchemaTooNew as e:
        engine.dispose()
        raise CommandError(str(e)) from e
    return engine


def parse_time(text: str) -> int:
    """Epoch milliseconds from ``1700000000000``, ``2024-02-01`` or ``2024-02-01T12:00`` (UTC)."""
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date, a date-time or epoch milliseconds: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _symbol(text: str) -> str:
    symbol = text.upper()
    if not symbol.isalnum():
        raise argparse.ArgumentTypeError(f"not a symbol: {text!r}")
    return symbol


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                    disable=not console.is_terminal)


def _archive_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if name_parts(p) is not None))
        else:
            files.append(path)
    if not files:
        raise CommandError("no archive files found")
    return files


# -- import -------------------------------------------------------------------------------------

def _import(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    files = _archive_files(args.files)
    console = Console(stderr=True)
    engine = open_database(settings)
    try:
        with _progress(console) as progress:
            task = progress.add_task("importing", total=len(files))

            def done(outcome: ImportResult | ImportFailure) -> None:
                progress.advance(task)
                if isinstance(outcome, ImportFailure):
                    progress.console.print(f"rejected {outcome.error}", markup=False,
                                           highlight=False, soft_wrap=True)

            outcomes = import_kline_files(engine, files, args.market, args.symbol,
                                          args.interval, on_done=done)
    finally:
        engine.dispose()
    _print_import_summary(outcomes)
    failures = [o for o in outcomes if isinstance(o, ImportFailure)]
    if failures:
        print(f"{len(failures)} of {len(outcomes)} files rejected; "  # noqa: T201
              "nothing of a rejected file was imported", file=sys.stderr)
        return 1
    return 0


def _print_import_summary(outcomes: list[ImportResult | ImportFailure]) -> None:
    table = Table(title="import")
    for name in ("file", "series", "rows", "new rows", "seconds"):
        table.add_column(name, justify="right" if name in ("rows", "new rows", "seconds")
                         else "left")
    rows = new = 0
    seconds = 0.0
    for outcome in outcomes:
        if isinstance(outcome, ImportFailure):
            table.add_row(outcome.path.name, "[red]rejected[/red]", "-", "-", "-")
            continue
        rows += outcome.rows
        new += outcome.new_rows
        seconds += outcome.seconds
        series = f"{outcome.market.value} {outcome.symbol} {outcome.interval}"
        if outcome.time_unit == "us":
            series += " (µs)"
        table.add_row(outcome.path.name, series, f"{outcome.rows:,}", f"{outcome.new_rows:,}",
                      f"{outcome.seconds:.2f}")
    rate = f" ({rows / seconds:,.0f} rows/s)" if seconds > 0 else ""
    table.add_row("total", "", f"{rows:,}", f"{new:,}", f"{seconds:.2f}{rate}")
    Console().print(table)


# -- export -------------------------------------------------------------------------------------

def _export(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    engine = open_database(settings)
    try:
        store = SqlCandleStore(engine)
        arrays = store.read_arrays(args.market, args.symbol, args.interval, args.start, args.end)
    finally:
        engine.dispose()
    if len(arrays) == 0:
        raise CommandError(f"no {args.market.value} {args.symbol} {args.interval} candles "
                           "stored in that range")
    try:
        written = export_arrays(args.market, args.symbol, args.interval, arrays, args.format,
                                args.output)
    except ModuleNotFoundError as e:  # pyarrow is an optional extra
        raise CommandError(f"{args.format} export needs {e.name}: "
                           "pip install 'binbot[parquet]'") from e
    except OSError as e:
        raise CommandError(f"cannot write {args.output}: {e.strerror or e}") from e
    print(f"wrote {written:,} candles to {args.output} ({args.format})")  # noqa: T201
    return 0


# -- download -----------------------------------------------------------------------------------

def _download(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    engine = open_database(settings)
    try:
        return asyncio.run(_download_async(args, settings, engine))
    finally:
        engine.dispose()


async def _download_async(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    from binbot.adapters.binance.endpoints import endpoints_for
    from binbot.adapters.binance.rest import BinanceRestClient
    from binbot.domain.errors import ExchangeError
    from binbot.services.history import download

    exchange = settings.exchange
    venue = args.venue or exchange.venue
    endpoints = endpoints_for(venue, args.host or exchange.local_host,
                              args.port or exchange.local_port)
    console = Console(stderr=True)
    async with BinanceRestClient(endpoints, timeout_s=exchange.request_timeout_s) as rest, \
            Writer.from_settings(engine, settings.database) as writer:
        store = SqlCandleStore(engine, writer)
        try:
            now_ms = await rest.server_time(args.market)
            with _progress(console) as progress:
                task = progress.add_task(f"{args.symbol} {args.interval}", total=None)

                def on_progress(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                result = await download(store, rest, args.market, args.symbol, args.interval,
                                        args.days, now_ms=now_ms, on_progress=on_progress)
        except ExchangeError as e:
            raise CommandError(f"{venue}: {e}") from e
        count = await store.count(args.market, args.symbol, args.interval)
    print(f"fetched {result.fetched:,} candles in {len(result.ranges)} range(s); "  # noqa: T201
          f"{count:,} {args.market.value} {args.symbol} {args.interval} candles stored")
    return 0


# -- list ---------------------------------------------------------------------------------------

def _list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    engine = open_database(settings)
    try:
        series = SqlCandleStore(engine).read_series()
    finally:
        engine.dispose()
    table = Table(title="stored candles")
    for name in ("market", "symbol", "interval", "candles", "first", "last"):
        table.add_column(name)

    def fmt(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")

    for s in series:
        table.add_row(s.market.value, s.symbol, s.interval, f"{s.count:,}",
                      fmt(s.first_open_time), fmt(s.last_open_time))
    Console().print(table)
    return 0


# -- parsers ------------------------------------------------------------------------------------

def _add_series(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--market", type=Market, choices=list(Market), default=Market.USDM,
                        help="usdm (default) or spot")
    parser.add_argument("--symbol", type=_symbol, required=required, default=None,
                        help="e.g. BTCUSDT")
    parser.add_argument("--interval", choices=INTERVALS, required=required, default=None,
                        help="e.g. 1m")


def register(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    data = subparsers.add_parser("data", help="import, export, download and list candles")
    actions = data.add_subparsers(dest="action", required=True, metavar="ACTION")

    imp = actions.add_parser(
        "import", parents=[parent], help="import Binance archive kline files",
        description="Import Binance public-archive kline files (.csv, .csv.gz, .zip; with or "
                    "without header; ms or µs times). Symbol and interval come from the file "
                    "name SYMBOL-INTERVAL-YYYY-MM[-DD].* unless given. One transaction per "
                    "file: a bad file is rejected whole; re-importing adds no duplicates.")
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE",
                     help="archive files, or folders of them")
    _add_series(imp, required=False)
    imp.set_defaults(func=_import)

    exp = actions.add_parser(
        "export", parents=[parent], help="export candles to csv, parquet or sql",
        description="csv: Binance archive columns with a header (closed candles); parquet: "
                    "every column; sql / sql-postgres: a script with CREATE TABLE + INSERTs "
                    "that sqlite3 / psql load (into binbot's database too, read at full "
                    "speed). --from is inclusive, --to exclusive.")
    _add_series(exp, required=True)
    exp.add_argument("--from", dest="start", type=parse_time, default=None,
                     help="first open time: YYYY-MM-DD[THH:MM] (UTC) or epoch ms")
    exp.add_argument("--to", dest="end", type=parse_time, default=None,
                     help="end (exclusive), same forms as --from")
    exp.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
    exp.add_argument("--output", type=Path, required=True, help="file to write")
    exp.set_defaults(func=_export)

    dl = actions.add_parser(
        "download", parents=[parent], help="download candle history over REST",
        description="Fetch the last --days days from Binance (or the local exchange). Only "
                    "missing candles are fetched, so an interrupted download resumes and a "
                    "repeated one costs one request.")
    _add_series(dl, required=True)
    dl.add_argument("--days", type=float, default=30.0, help="how far back (default 30)")
    dl.add_argument("--venue", choices=("binance", "testnet", "demo", "local"), default=None,
                    help="default: exchange.venue from the config")
    dl.add_argument("--host", default=None, help="local exchange host")
    dl.add_argument("--port", type=int, default=None, help="local exchange port")
    dl.set_defaults(func=_download)

    lst = actions.add_parser("list", parents=[parent], help="list stored candle series")
    lst.set_defaults(func=_list)
