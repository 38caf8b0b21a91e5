"""``binbot backtest [...]``, ``binbot backtest list``, ``binbot backtest show RUN_ID``.

A run replays stored candles (or ``--data`` archive files) through the same strategy classes,
``BotCore`` and fill simulator that trade live; see ``binbot.backtest``. With ``--grid`` it
sweeps parameter combinations across all cores and prints a ranked table; with
``--walk-forward IS_DAYS:OOS_DAYS`` it optimises on rolling in-sample windows and reports the
out-of-sample results.
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
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

from binbot.backtest import BacktestConfig, BacktestResult, load_data, prepare
from binbot.backtest.config import PRICE_PATHS
from binbot.backtest.data import DataError, MarketData
from binbot.backtest.export import write_csv, write_json
from binbot.backtest.funding import FundingFileError, read_funding
from binbot.backtest.metrics import BacktestMetrics
from binbot.backtest.report import format_metric, metric_label, write_html
from binbot.backtest.runner import execute
from binbot.backtest.store import find_run, list_runs, run_trades, save_run
from binbot.backtest.sweep import (
    RANK_METRICS,
    GridError,
    SweepRow,
    WalkForward,
    parse_grid,
    parse_value,
    parse_walk_forward,
    rank,
    run_grid,
    walk_forward,
)
from binbot.cli.common import CommandError, settings_from_args
from binbot.cli.data_cmd import open_database, parse_time
from binbot.config import Settings
from binbot.domain.market import INTERVALS, Market
from binbot.services.kline_archive import ArchiveFormatError
from binbot.strategy.loader import StrategyLoadError
from binbot.strategy.params import StrategyParamsError

SUMMARY = ("start_ms", "end_ms", "initial_equity", "final_equity", "net_profit", "total_return",
           "cagr", "max_drawdown", "max_drawdown_fraction", "sharpe", "sortino", "calmar",
           "trades", "win_rate", "profit_factor", "average_trade", "fees_paid", "exposure",
           "buy_and_hold_return")
_TABLE_METRICS = ("net_profit", "total_return", "sharpe", "max_drawdown_fraction", "trades",
                  "win_rate", "profit_factor")


def _params(items: list[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"--param expects NAME=VALUE, was {item!r}")
        params[name.strip()] = parse_value(value.strip())
    return params


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _config(args: argparse.Namespace, settings: Settings) -> BacktestConfig:
    paper = settings.paper
    if args.slippage_bps is not None:
        paper = paper.model_copy(update={"slippage_bps": args.slippage_bps})
    try:
        funding = read_funding(args.funding) if args.funding else ()
        return BacktestConfig(
            strategy=args.strategy, params=_params(args.param), market=args.market,
            symbol=args.symbol, interval=args.interval, start_ms=args.start, end_ms=args.end,
            data_files=tuple(args.data or ()),
            database_url=None if args.data else settings.database_url,
            mode="bar_close" if args.bar_close else "intrabar", price_path=args.price_path,
            capital=args.capital, leverage=args.leverage, paper=paper, funding=funding,
            warmup_candles=args.warmup,
        )
    except (FundingFileError, ValueError) as e:
        raise CommandError(str(e)) from e


def _progress(console: Console, auto_refresh: bool = True) -> Progress:
    """A progress bar; sweeps pass ``auto_refresh=False`` (and refresh on each update) so no
    display thread is running when the worker processes are forked."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                    disable=not console.is_terminal, auto_refresh=auto_refresh)


def _out() -> Console:
    """stdout; wide when it is not a terminal, so piped tables are not wrapped."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


# -- one run ------------------------------------------------------------------------------------

def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not args.verbose:
        # One warning per refused order would bury the summary; the count is in it.
        logging.getLogger("binbot").setLevel(logging.ERROR)
    config = _config(args, settings)
    console = Console(stderr=True)
    try:
        with console.status("loading candles"):
            data = load_data(config)
        if args.walk_forward:
            return _walk_forward(args, config, data, console)
        if args.grid:
            return _grid(args, config, data, console)
        result = _single(config, data, console)
    except (DataError, ArchiveFormatError, StrategyLoadError, StrategyParamsError,
            GridError) as e:
        raise CommandError(str(e)) from e
    _print_summary(result)
    _write_outputs(args, result)
    if not args.no_store:
        engine = open_database(settings)
        try:
            run_id = save_run(engine, result)
        finally:
            engine.dispose()
        print(f"stored as run {run_id} (binbot backtest show {run_id[:8]})")  # noqa: T201
    return 0


def _single(config: BacktestConfig, data: MarketData, console: Console) -> BacktestResult:
    prepared = prepare(config, data)
    with _progress(console) as progress:
        task = progress.add_task(f"{prepared.symbol} {config.interval} "
                                 f"{config.mode.replace('_', '-')}", total=len(prepared.candles))

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return execute(config, prepared, report)


def _write_outputs(args: argparse.Namespace, result: BacktestResult) -> None:
    for path, writer in ((args.json, write_json), (args.csv, write_csv), (args.html, write_html)):
        if path is not None:
            try:
                writer(result, path)
            except OSError as e:
                raise CommandError(f"cannot write {path}: {e.strerror or e}") from e
            print(f"wrote {path}")  # noqa: T201


def _print_summary(result: BacktestResult) -> None:
    config = result.config
    table = Table(title=f"{result.strategy} {config.market.value} {result.symbol} "
                        f"{config.interval} {config.mode.replace('_', '-')}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    values = {name: getattr(result.metrics, name) for name in SUMMARY}
    for name, value in values.items():
        table.add_row(metric_label(name), format_metric(name, value))
    table.add_row("trade actions", f"{len(result.trades):,}")
    if result.rejected_orders:
        table.add_row("rejected orders", f"[yellow]{result.rejected_orders:,}[/yellow]")
    if result.funding:
        table.add_row("funding", f"{result.funding:,.4f}")
    rate = result.bars / result.seconds if result.seconds > 0 else float("inf")
    table.add_row("bars replayed", f"{result.bars:,} in {result.seconds:.2f} s "
                                   f"({rate:,.0f}/s)")
    table.add_row("params", ", ".join(f"{k}={v}" for k, v in result.params.items()))
    _out().print(table)


# -- sweeps -------------------------------------------------------------------------------------

def _grid(args: argparse.Namespace, config: BacktestConfig, data: MarketData,
          console: Console) -> int:
    grid = parse_grid(args.grid)
    prepare(config, data)  # fail here, once, on a bad range or interval
    count = 1
    for values in grid.values():
        count *= len(values)
    started = time.perf_counter()
    with _progress(console, auto_refresh=False) as progress:
        task = progress.add_task(f"{count} combinations", total=count)
        rows = run_grid(config, grid, data, workers=args.workers,
                        progress=lambda done, _t: progress.update(task, completed=done,
                                                                  refresh=True))
    ranked = rank(rows, args.rank)
    _print_ranked(ranked[: args.top], list(grid), args.rank,
                  f"{count} combinations in {time.perf_counter() - started:.1f} s, "
                  f"ranked by {args.rank}")
    failed = [row for row in rows if row.metrics is None]
    for row in failed[:3]:
        print(f"{row.params}: {row.error}")  # noqa: T201
    return 0 if len(failed) < len(rows) else 1


def _metric_cell(metrics: BacktestMetrics | None, name: str) -> str:
    return "–" if metrics is None else format_metric(name, getattr(metrics, name), 2)


def _print_ranked(rows: list[SweepRow], names: list[str], rank_by: str, title: str) -> None:
    table = Table(title=title)
    table.add_column("#", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    shown = list(dict.fromkeys([rank_by, *_TABLE_METRICS]))
    for name in shown:
        table.add_column(metric_label(name), justify="right",
                         style="bold" if name == rank_by else None)
    for i, row in enumerate(rows, start=1):
        table.add_row(str(i), *(str(row.params.get(n)) for n in names),
                      *(_metric_cell(row.metrics, m) for m in shown))
    _out().print(table)


def _walk_forward(args: argparse.Namespace, config: BacktestConfig, data: MarketData,
                  console: Console) -> int:
    is_days, oos_days = parse_walk_forward(args.walk_forward)
    grid = parse_grid(args.grid or [])
    with _progress(console, auto_refresh=False) as progress:
        task = progress.add_task("walk-forward", total=None)
        outcome = walk_forward(config, grid, data, is_days, oos_days, rank_by=args.rank,
                               workers=args.workers,
                               progress=lambda d, t: progress.update(task, completed=d, total=t,
                                                                     refresh=True))
    _print_walk_forward(outcome, list(grid), args.rank)
    return 0


def _print_walk_forward(outcome: WalkForward, names: list[str], rank_by: str) -> None:
    table = Table(title=f"walk-forward windows (best in-sample by {rank_by})")
    for column in ("#", "in-sample", "out-of-sample", *names, f"IS {rank_by}", "OOS net profit",
                   "OOS return", "OOS sharpe", "OOS trades"):
        table.add_column(column, justify="right")
    for i, w in enumerate(outcome.windows, start=1):
        m = w.result.metrics
        table.add_row(str(i), f"{_when(w.in_sample[0])} → {_when(w.in_sample[1])}",
                      f"{_when(w.out_of_sample[0])} → {_when(w.out_of_sample[1])}",
                      *(str(w.best.params.get(n)) for n in names),
                      _metric_cell(w.best.metrics, rank_by),
                      format_metric("net_profit", m.net_profit, 2),
                      format_metric("total_return", m.total_return, 2),
                      format_metric("sharpe", m.sharpe, 2), str(m.trades))
    _out().print(table)
    stitched = Table(title="stitched out-of-sample")
    stitched.add_column("metric")
    stitched.add_column("value", justify="right")
    for name in SUMMARY:
        stitched.add_row(metric_label(name), format_metric(name, getattr(outcome.metrics, name)))
    _out().print(stitched)


# -- list / show --------------------------------------------------------------------------------

def _list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    engine = open_database(settings)
    try:
        runs = list_runs(engine, args.limit)
    finally:
        engine.dispose()
    table = Table(title="backtest runs")
    for name in ("run", "created", "strategy", "series", "mode", "from", "to", "net profit",
                 "return", "sharpe", "trades"):
        table.add_column(name, justify="right" if name in ("net profit", "return", "sharpe",
                                                           "trades") else "left")
    for run in runs:
        m = run.metrics
        table.add_row(run.run_id[:8], _when(run.created_ms), run.strategy,
                      f"{run.market} {run.symbol} {run.interval}", run.mode,
                      _when(run.start_ms), _when(run.end_ms),
                      format_metric("net_profit", m.get("net_profit"), 2),
                      format_metric("total_return", m.get("total_return"), 2),
                      format_metric("sharpe", m.get("sharpe"), 2), str(run.trades))
    _out().print(table)
    return 0


def _show(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    engine = open_database(settings)
    try:
        found = find_run(engine, args.run_id)
        if found is None:
            raise CommandError(f"no backtest run {args.run_id!r} (or the prefix is ambiguous); "
                               "see binbot backtest list")
        run, _equity = found
        trades = run_trades(engine, run.run_id)
    finally:
        engine.dispose()
    table = Table(title=f"run {run.run_id}: {run.strategy} {run.market} {run.symbol} "
                        f"{run.interval} {run.mode}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in SUMMARY:
        table.add_row(metric_label(name), format_metric(name, run.metrics.get(name)))
    table.add_row("params", ", ".join(f"{k}={v}" for k, v in run.params.items()))
    _out().print(table)
    if args.trades:
        listing = Table(title=f"trades (first {min(args.trades, len(trades))} of {len(trades)})")
        for name in ("time", "action", "price", "qty", "fee", "pnl"):
            listing.add_column(name, justify="left" if name in ("time", "action") else "right")
        for t in trades[: args.trades]:
            listing.add_row(_when(t.time_ms), t.action, f"{t.price:g}", f"{t.qty:g}",
                            f"{t.fee:.4f}", f"{t.pnl:.4f}")
        _out().print(listing)
    return 0


# -- parser -------------------------------------------------------------------------------------

def _symbol(text: str) -> str:
    symbol = text.upper()
    if not symbol.isalnum():
        raise argparse.ArgumentTypeError(f"not a symbol: {text!r}")
    return symbol


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--strategy", default="boll", help="built-in name (boll) or module:Class")
    add("--symbol", type=_symbol, default=None,
        help="e.g. BTCUSDT (default: from the --data file names)")
    add("--market", type=Market, choices=list(Market), default=Market.USDM,
        help="usdm (default) or spot")
    add("--interval", choices=INTERVALS, default="15m", help="the strategy's candles (15m)")
    add("--from", dest="start", type=parse_time, default=None,
        help="first candle: YYYY-MM-DD[THH:MM] (UTC) or epoch ms")
    add("--to", dest="end", type=parse_time, default=None, help="end (exclusive)")
    add("--param", action="append", metavar="NAME=VALUE", help="strategy parameter (repeat)")
    add("--data", nargs="+", type=Path, metavar="FILE",
        help="Binance archive kline files instead of stored candles")
    add("--bar-close", action="store_true",
        help="closed candles only (default: 1m prices replayed inside each candle)")
    add("--price-path", choices=PRICE_PATHS, default="close",
        help="intrabar prices per 1m candle: its close (default) or its open/low/high/close "
             "path, as the local exchange streams it")
    add("--capital", type=_decimal, default=None,
        help="starting balance (default: paper.starting_balance)")
    add("--leverage", type=int, default=1, help="USD-M leverage (default 1)")
    add("--slippage-bps", type=_decimal, default=None,
        help="worsen market fills (default: paper.slippage_bps, 0)")
    add("--funding", nargs="+", type=Path, metavar="FILE",
        help="funding-rate files (Binance fundingRate archive or time_ms,rate CSV)")
    add("--warmup", type=int, default=50,
        help="closed candles before --from loaded as history (default 50)")
    add("--json", type=Path, metavar="PATH", help='write {"metrics": ..., "trades": [...]}')
    add("--csv", type=Path, metavar="PATH", help="write the trades as CSV")
    add("--html", type=Path, metavar="PATH", help="write the interactive report (offline)")
    add("--no-store", action="store_true", help="do not save the run in the database")
    add("--grid", action="append", metavar="NAME=V1,V2,...",
        help="sweep these values (repeat for more parameters; every combination runs)")
    add("--rank", choices=RANK_METRICS, default="net_profit",
        help="metric ranking sweep results (default net_profit)")
    add("--top", type=int, default=20, help="rows of the ranked table (default 20)")
    add("--workers", type=int, default=None, help="processes for sweeps (default: all cores)")
    add("--walk-forward", metavar="IS_DAYS:OOS_DAYS",
        help="optimise --grid on IS_DAYS, test on the next OOS_DAYS, roll on")


def register(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    backtest = subparsers.add_parser(
        "backtest", parents=[parent], help="backtest a strategy, sweep parameters, list runs",
        description="Replay stored candles (or --data archive files) through the strategy "
                    "classes that trade live. Without ACTION: run one backtest (or a --grid "
                    "sweep, or --walk-forward).")
    _add_run_options(backtest)
    backtest.set_defaults(func=_run)
    actions = backtest.add_subparsers(dest="action", required=False, metavar="ACTION")
    lst = actions.add_parser("list", parents=[parent], help="list stored runs")
    lst.add_argument("--limit", type=int, default=50)
    lst.set_defaults(func=_list)
    show = actions.add_parser("show", parents=[parent], help="show a stored run")
    show.add_argument("run_id", metavar="RUN_ID", help="run id or a unique prefix")
    show.add_argument("--trades", type=int, default=20, help="trades to list (default 20)")
    show.set_defaults(func=_show)
