"""``run_backtest``: the strategy classes that trade live, in ``BotCore``, on a replay clock.

Three steps, separable so sweeps pay the first two once:

1. ``load_data``: the candles (archive files or the store).
2. ``prepare``: interval candles aggregated from the lower timeframe, the warm-up history, the
   tick lists and the instrument; independent of the strategy parameters.
3. ``execute``: one strategy instance, one ``SimulatedExchange`` configured exactly as a paper
   bot's (``sim_config_from_settings``), one ``ReplayBot``, the replay loop, then the metrics.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from binbot.adapters.paper.client import sim_config_from_settings
from binbot.backtest.bars import Bars, aggregate
from binbot.backtest.config import BacktestConfig
from binbot.backtest.data import DataError, MarketData, load_files, load_store
from binbot.backtest.instrument import derived_instrument
from binbot.backtest.ledger import Ledger, trade_lists
from binbot.backtest.metrics import compute_metrics
from binbot.backtest.replay import FormingSource, Funding, Progress, ReplayBot, ReplayPlan, replay
from binbot.backtest.result import BacktestResult
from binbot.backtest.ticks import make_ticks
from binbot.domain.candle import Candle
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market, interval_ms
from binbot.services.kline_archive import name_parts
from binbot.sim.exchange import SimulatedExchange
from binbot.strategy.base import Strategy
from binbot.strategy.loader import load_strategy

BOT_ID = "backtest"


def load_data(config: BacktestConfig, engine: Engine | None = None) -> MarketData:
    """The candles ``config`` asks for: its files when given, else the store (``engine`` or
    ``config.database_url``)."""
    if config.data_files:
        if config.symbol:
            for path in config.data_files:
                parts = name_parts(Path(path))
                if parts is not None and parts[0] != config.symbol:
                    raise DataError(f"{path} holds {parts[0]}, not {config.symbol}")
        return load_files(config.data_files, config.market, config.symbol)
    database: str | Engine | None = engine if engine is not None else config.database_url
    if database is None:
        raise DataError("no data: give data files or a database")
    if config.symbol is None:
        raise DataError("a symbol is needed to read stored candles")
    length = interval_ms(config.interval)
    start = config.start_ms
    if start is not None:
        start -= (config.warmup_candles + 1) * length
    if config.mode == "bar_close":
        intervals = [config.interval, config.lower_interval]
    else:
        intervals = [config.lower_interval, config.interval]
    return load_store(database, config.market, config.symbol,
                      list(dict.fromkeys(intervals)), start, config.end_ms)


_NO_FULL_PASS = 2**30  # young-pass rounds before a full pass: never, within a backtest


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for code of ours that makes no reference cycle.

    ``prepare`` builds one candle per interval (tens of thousands), each freed by its count;
    every 700 new objects the collector would walk the young ones, and now and then every
    object alive: up to half of the candle building, all of it pure cost.

    On the way out, what is young (those candles and the tick lists, mostly) is moved to the
    oldest generation unexamined: ``gc.freeze`` then ``gc.unfreeze`` splice the lists of
    tracked objects and reset the young count, where re-enabling alone would make the next
    allocation walk everything just built (~35 ms for an intrabar run of 21 months). Nothing
    is lost: a full collection still examines them. Skipped if someone else froze objects
    (``unfreeze`` would thaw theirs too).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if not gc.get_freeze_count():
            gc.freeze()
            gc.unfreeze()
        if collecting:
            gc.enable()


@contextmanager
def _full_collections_deferred() -> Iterator[None]:
    """Keep the collector's young passes running, but no full pass until the backtest is done.

    The replay runs the strategy's code, which may well make reference cycles (a pandas frame
    per candle does), so the collector must keep running there: garbage dies young, and the
    young passes (every few hundred new objects) still free it. A full pass, though, walks
    every object alive, the prepared candles and ticks included, and the objects a replay
    keeps (the trade legs) make one due every few tens of thousands: 80-100 ms a run on
    CPython 3.12. So the full passes wait until ``execute`` returns (the oldest generation's
    threshold is raised meanwhile); a cycle that outlives two young passes is freed then.

    The thresholds, unlike ``gc.freeze``, leave whatever others froze alone, on every Python
    (CPython 3.12 starts with a few hundred objects frozen, so the freeze would be skipped).
    """
    young, middle, full = gc.get_threshold()
    gc.set_threshold(young, middle, _NO_FULL_PASS)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, full)


@dataclass(frozen=True, slots=True, eq=False)
class Prepared:
    """What ``execute`` replays (see the module docstring)."""

    market: Market
    symbol: str
    interval: str
    instrument: Instrument
    history: list[Candle]
    plan: ReplayPlan
    candles: Bars  # the replayed interval candles
    forming: FormingSource | None
    bars: int


def prepare(config: BacktestConfig, data: MarketData,
            instrument: Instrument | None = None) -> Prepared:
    with _collector_paused():
        return _prepare(config, data, instrument)


def _prepare(config: BacktestConfig, data: MarketData, instrument: Instrument | None) -> Prepared:
    interval = config.interval
    length = interval_ms(interval)
    bars = data.bars.between(None, config.end_ms)
    step = bars.length_ms
    if step > length or length % step:
        raise DataError(f"{bars.interval} candles cannot make {interval} candles; "
                        f"give {config.lower_interval} data")
    agg = aggregate(bars, interval)
    candles = agg.bars
    count = len(candles)
    first = 0 if config.start_ms is None else int(
        np.searchsorted(candles.open_time, config.start_ms, "left"))
    if first >= count:
        raise DataError(f"no {data.symbol} candles in the range asked for")
    # Every interval closes except a last one the data does not finish.
    closes_last = bool(agg.complete[-1])
    history = candles.slice(max(0, first - config.warmup_candles), first).candles(
        data.market, data.symbol)
    replayed = candles.slice(first, count)
    closed = replayed.candles(data.market, data.symbol)
    if config.mode == "intrabar":
        lower_first = int(agg.ends[first - 1]) if first else 0
        lower = bars.slice(lower_first, len(bars))
        ticks = make_ticks(lower, config.price_path)
        local_ends = agg.ends[first:] - lower_first
        interval_ends = ticks.ends[local_ends - 1]
        plan_candles: list[Candle | None] = list(closed)
        sample_time = replayed.close_time.copy()
        if not closes_last:
            plan_candles[-1] = None
            sample_time[-1] = ticks.time[-1]
        tick_time, tick_price = ticks.time, ticks.price
        forming = FormingSource(data.market, data.symbol, interval, length, replayed.open_time,
                                np.concatenate(([0], local_ends[:-1])).astype(np.int64), lower,
                                ticks)
        bar_count = len(lower)
    else:
        usable = len(replayed) if closes_last else len(replayed) - 1
        if usable <= 0:
            raise DataError(f"no closed {interval} candle in the range asked for")
        replayed = replayed.slice(0, usable)
        plan_candles = list(closed[:usable])
        tick_time, tick_price = replayed.close_time, replayed.close
        interval_ends = np.arange(1, usable + 1, dtype=np.int64)
        sample_time = replayed.close_time
        forming = None
        bar_count = usable
    low: list[float] = []
    high: list[float] = []
    if config.mode == "intrabar":
        firsts = np.concatenate(([0], interval_ends[:-1]))
        low = np.minimum.reduceat(tick_price, firsts).tolist()
        high = np.maximum.reduceat(tick_price, firsts).tolist()
    last_tick = interval_ends - 1
    plan = ReplayPlan(tick_time, tick_price, interval_ends.tolist(),
                      tick_time[last_tick].tolist(), tick_price[last_tick].tolist(),
                      plan_candles, sample_time,
                      _funding(config, tick_time, int(replayed.open_time[0])), low, high)
    if instrument is None:
        instrument = derived_instrument(data.market, data.symbol, data.price_decimals,
                                        data.qty_decimals, float(bars.high.max()))
    return Prepared(data.market, data.symbol, interval, instrument, history, plan, replayed,
                    forming, bar_count)


def _funding(config: BacktestConfig, tick_time: np.ndarray[tuple[int], np.dtype[np.int64]],
             start_ms: int) -> list[Funding]:
    if config.market is Market.SPOT or not config.funding:
        return []
    events = sorted((int(t), Decimal(rate)) for t, rate in config.funding)
    return [Funding(int(np.searchsorted(tick_time, t, "left")), t, rate)
            for t, rate in events if start_ms < t <= int(tick_time[-1])]


def execute(config: BacktestConfig, prepared: Prepared, progress: Progress | None = None, *,
            strategy: Strategy | None = None) -> BacktestResult:
    """Replay ``prepared`` with a fresh simulator and bot, and a fresh strategy loaded from
    ``config`` unless an unused instance is given (to inspect it afterwards)."""
    with _full_collections_deferred():
        return _execute(config, prepared, progress, strategy)


def _execute(config: BacktestConfig, prepared: Prepared, progress: Progress | None,
             strategy: Strategy | None) -> BacktestResult:
    if strategy is None:
        strategy = load_strategy(config.strategy, config.params)
    market = prepared.market
    leverage = 1 if market is Market.SPOT else config.leverage
    capital = config.starting_capital
    sim = SimulatedExchange(prepared.instrument,
                            sim_config_from_settings(config.paper, market, capital, leverage))
    ledger = Ledger(capital)
    bot = ReplayBot(BOT_ID, prepared.instrument, prepared.interval, strategy, sim,
                    capital=capital, leverage=leverage, max_trades=None, recent_orders=0,
                    candle_capacity=max(1000, config.warmup_candles + 1),
                    forming=prepared.forming)
    ledger.attach(bot.portfolio)
    bot.load_history(prepared.history)
    bot.start()
    plan = prepared.plan
    started = time.perf_counter()
    equity = replay(bot, sim, ledger, plan, progress, track_forming=prepared.forming is not None)
    seconds = time.perf_counter() - started
    bot.stop()
    trades, trips, exposure = trade_lists(bot.portfolio.trades, plan.last_time[-1])
    candles = prepared.candles
    start_ms = int(candles.open_time[0])
    times = np.concatenate(([start_ms], plan.sample_time)).astype(np.int64)
    values = np.concatenate(([float(capital)], equity))
    closes = np.concatenate(([candles.open[0]], candles.close))
    metrics = compute_metrics(times, values, trips, closes=closes, position_intervals=exposure)
    return BacktestResult(
        config=config, symbol=prepared.symbol, strategy=strategy.name,
        params=strategy.params.model_dump(mode="json"), instrument=prepared.instrument,
        metrics=metrics, trades=trades, equity_time=times, equity=values,
        candles=candles, bars=prepared.bars, ticks=len(plan.tick_time),
        funding=float(bot.portfolio.position.funding), seconds=seconds, round_trips=trips,
        exposure=exposure, rejected_orders=bot.rejected_orders,
    )


def run_backtest(config: BacktestConfig, *, data: MarketData | None = None,
                 engine: Engine | None = None, instrument: Instrument | None = None,
                 progress: Progress | None = None,
                 strategy: Strategy | None = None) -> BacktestResult:
    """Run one backtest (see ``BacktestConfig``). ``data`` skips loading; ``engine`` reads the
    stored candles from that database instead of ``config.database_url``; ``instrument``
    replaces the filters derived from the data; ``progress(done, total)`` reports intervals;
    ``strategy`` is an unused instance to run instead of loading ``config.strategy``."""
    market_data = data if data is not None else load_data(config, engine)
    return execute(config, prepare(config, market_data, instrument), progress,
                   strategy=strategy)
