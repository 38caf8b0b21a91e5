"""BOLL on every FILUSDT month in ../shared/data: binbot against backtesting.py, backtrader and
vectorbt, in one invocation. Prints bars per second and trade counts, and checks that the trade
lists agree where the semantics are the same.

Runs (all on the same candles, all with a fixed 100 FIL per entry, 0.05 % fees, 10,000 USDT):

1. binbot intrabar, 1m: the live ``Boll`` class in ``BotCore`` with the simulated exchange, every
   1m close replayed as the real-time price inside the 15m candles (the product's default).
   Target: >= 1,000,000 1m bars/s. The replay skips the prices at which neither the simulator
   nor the bot can act (their quiet bands; same results, tested); the breakdown at the end
   also shows the run with every tick fed.
2. binbot bar-close, 15m: the same class fed only closed 15m candles (close price at the close,
   then the candle). Target: faster than every peer.
3. backtesting.py (``Backtest(trade_on_close=True)``), 4. backtrader (``broker.set_coc(True)``,
   cheat-on-close), 5. vectorbt (``Portfolio.from_signals``, fills at the close) on the same 15m
   candles, each with the BOLL rules written in its own idiom:

   - bands: ``rolling(20)`` mean and population std (ddof 0) of the closes, the current close
     included (= binbot's real-time band at the candle's close), UP/DN = mid +- 2 std;
   - the state machine of DESIGN.md (phases normal/above_up/below_dn, ties within 1e-9 count as
     inside); a reversal is a close order then an open order, both at the signal candle's close.

   Peers fill at the next bar's open by default; they are configured to fill at the signal
   bar's close, binbot's bar-close semantics. Differences that remain, and how they are handled:
   backtesting.py calls ``next()`` first one bar after its indicators warm up (bar 20, not 19)
   and never fills orders placed on the last bar (``finalize_trades=True`` closes what is still
   open at the second-to-last close); the trade lists are therefore compared on the actions
   before the last two candles, and a disagreement is reported with its first differing row.
   vectorbt's rules are a numba loop producing entry/exit signals (the vectorbt way to express a
   stateful rule); its timing is shown with and without the one-off JIT compilation.

What each time covers. binbot: ``prepare`` + ``execute`` (the replay, the trade list and the
metrics). backtesting.py: ``Backtest(...).run()``, which computes its statistics and trade list.
backtrader: ``cerebro.run()`` with no analyzers, its simulation alone (less work than the others).
vectorbt twice: the simulation alone (bands, signals, ``Portfolio.from_signals``), and with
``stats()`` and the trade records, the same outputs as the others: the like-for-like figure.

Each figure is the best of R runs (binbot's median is shown too); binbot's bar-close runs
alternate with backtesting.py's, the closest peer, so a slow spell of a shared machine weighs
on both alike.

Usage: python benchmarks/bench_backtest.py [--months N] [--repeat R]
Peers: pip install -e '.[bench]' (backtesting, backtrader; vectorbt optional).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _machine import describe

from binbot.backtest import BacktestConfig, execute, prepare
from binbot.backtest.bars import aggregate
from binbot.backtest.data import MarketData, load_files
from binbot.domain.market import Market
from binbot.strategy.base import Strategy

os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bar
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "klines" / "binance-um-1m"
PERIOD, K, TIE = 20, 2.0, 1e-9
QTY = 100
CASH = 10_000.0
FEE = 0.0005
FIFTEEN = 900_000
Action = tuple[int, str, float]  # (15m candle open time, action, price)


# -- binbot ----------------------------------------------------------------------------------

class Idle(Strategy):
    """Does nothing: what the replay clock, ``BotCore`` and the simulator cost by themselves."""

    name = "idle"


def binbot_run(data: MarketData, mode: str, repeat: int, params: dict[str, Any] | None = None,
               idle: bool = False, skip: bool = True
               ) -> tuple[float, float, int, list[Action], int, float]:
    """(end-to-end seconds, replay-loop seconds, bars, actions, rejected orders, median
    end-to-end seconds): the best of ``repeat`` runs, and their median. End to end is
    ``prepare`` (aggregation, ticks, candles) + ``execute`` (strategy, replay, metrics).
    ``skip=False`` feeds every tick to the simulator and the bot (no quiet-band skipping)."""
    config = BacktestConfig(data_files=(Path("unused"),), mode=mode,  # type: ignore[arg-type]
                            params=params or {"quantity": QTY}, warmup_candles=0)
    best = best_replay = math.inf
    result = None
    runs: list[float] = []
    for _ in range(repeat):
        # The last run's objects are freed here, not inside the timed part.
        prepared = result = None
        started = time.perf_counter()
        prepared = prepare(config, data)
        if not skip:
            plan = dataclasses.replace(prepared.plan, interval_low=(), interval_high=())
            prepared = dataclasses.replace(prepared, plan=plan)
        result = execute(config, prepared, strategy=Idle() if idle else None)
        runs.append(time.perf_counter() - started)
        best = min(best, runs[-1])
        best_replay = min(best_replay, result.seconds)
    assert result is not None
    actions = [(t.time_ms - (t.time_ms % FIFTEEN), t.action, t.price) for t in result.trades]
    return best, best_replay, result.bars, actions, result.rejected_orders, statistics.median(runs)


# -- the rules, for the peers ------------------------------------------------------------------

def bands(close: pd.Series) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    roll = close.rolling(PERIOD)
    mid = roll.mean()
    std = roll.std(ddof=0)
    return (mid + K * std).to_numpy(), (mid - K * std).to_numpy()


class Rules:
    """DESIGN.md's BOLL state machine; ``step`` returns the orders to place at this close:
    a list of "close" / "long" / "short"."""

    def __init__(self) -> None:
        self.phase = "normal"
        self.position = 0

    def step(self, p: float, up: float, dn: float) -> list[str]:
        orders: list[str] = []
        if self.phase == "normal":
            if p > up * (1 + TIE):
                if self.position < 0:
                    orders.append("close")
                    self.position = 0
                self.phase = "above_up"
            elif p < dn * (1 - TIE):
                if self.position > 0:
                    orders.append("close")
                    self.position = 0
                self.phase = "below_dn"
        elif self.phase == "above_up":
            if p <= up * (1 + TIE):
                if self.position > 0:
                    orders.append("close")
                orders.append("short")
                self.position = -1
                self.phase = "normal"
        elif p >= dn * (1 - TIE):
            if self.position < 0:
                orders.append("close")
            orders.append("long")
            self.position = 1
            self.phase = "normal"
        return orders


def round_trips_to_actions(rows: list[tuple[int, int | None, float, float | None, bool]]
                           ) -> list[Action]:
    """(entry time, exit time, entry price, exit price, long) -> actions in time order."""
    actions: list[tuple[int, int, str, float]] = []
    for entry, exit_, entry_price, exit_price, long in rows:
        actions.append((entry, 1, "open_long" if long else "open_short", entry_price))
        if exit_ is not None and exit_price is not None:
            actions.append((exit_, 0, "close_long" if long else "close_short", exit_price))
    actions.sort()
    return [(t, a, p) for t, _, a, p in actions]


# -- backtesting.py ----------------------------------------------------------------------------

def backtesting_run(frame: pd.DataFrame, repeat: int) -> tuple[float, list[Action]]:
    from backtesting import Backtest, Strategy

    def up_band(close: Any) -> Any:
        return bands(pd.Series(close))[0]

    def dn_band(close: Any) -> Any:
        return bands(pd.Series(close))[1]

    class BollBT(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.up = self.I(up_band, self.data.Close)
            self.dn = self.I(dn_band, self.data.Close)
            self.rules = Rules()

        def next(self) -> None:
            for order in self.rules.step(self.data.Close[-1], self.up[-1], self.dn[-1]):
                if order == "close":
                    self.position.close()
                elif order == "long":
                    self.buy(size=QTY)
                else:
                    self.sell(size=QTY)

    best = math.inf
    stats = None
    for _ in range(repeat):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            started = time.perf_counter()
            bt = Backtest(frame, BollBT, cash=CASH, commission=FEE, trade_on_close=True,
                          finalize_trades=True)
            stats = bt.run()
            best = min(best, time.perf_counter() - started)
    assert stats is not None
    trades = stats["_trades"]
    to_ms = _to_ms
    rows = [(to_ms(r.EntryTime), to_ms(r.ExitTime), float(r.EntryPrice), float(r.ExitPrice),
             r.Size > 0) for r in trades.itertuples()]
    return best, round_trips_to_actions(rows)


def _to_ms(stamp: Any) -> int:
    return int(pd.Timestamp(stamp).value // 1_000_000)


# -- backtrader --------------------------------------------------------------------------------

def backtrader_run(frame: pd.DataFrame, repeat: int) -> tuple[float, list[Action]]:
    import backtrader as bt

    class Feed(bt.feeds.PandasData):  # type: ignore[misc]
        lines = ("up", "dn")
        params = (("up", -1), ("dn", -1))

    class BollBTR(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.rules = Rules()
            self.fills: list[tuple[int, str, float]] = []
            self.held = 0

        def next(self) -> None:
            up, dn = self.data.up[0], self.data.dn[0]
            if math.isnan(up):
                return
            for order in self.rules.step(self.data.close[0], up, dn):
                if order == "close":
                    self.close()
                elif order == "long":
                    self.buy(size=QTY)
                else:
                    self.sell(size=QTY)

        def notify_order(self, order: Any) -> None:
            if order.status != order.Completed:
                return
            size = order.executed.size
            when = _to_ms(bt.num2date(order.executed.dt))
            if self.held == 0:
                action = "open_long" if size > 0 else "open_short"
            else:
                action = "close_long" if self.held > 0 else "close_short"
            self.held += round(size)
            self.fills.append((when, action, float(order.executed.price)))

    best = math.inf
    fills: list[Action] = []
    for _ in range(repeat):
        started = time.perf_counter()
        up, dn = bands(frame["Close"])
        feed_frame = frame.assign(up=up, dn=dn).tz_localize(None)
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(Feed(dataname=feed_frame))
        cerebro.addstrategy(BollBTR)
        cerebro.broker.setcash(CASH)
        cerebro.broker.setcommission(commission=FEE)
        cerebro.broker.set_coc(True)
        strategy = cerebro.run()[0]
        best = min(best, time.perf_counter() - started)
        fills = list(strategy.fills)  # num2date gives naive datetimes of the (UTC) feed
    return best, fills


# -- vectorbt ----------------------------------------------------------------------------------

def vectorbt_run(frame: pd.DataFrame, repeat: int
                 ) -> tuple[float, float, float, list[Action]] | None:
    """(best seconds for the simulation alone, best with the results, the first call's
    seconds (JIT compilation included), actions)."""
    try:
        import vectorbt as vbt
        from numba import njit
    except ImportError:
        return None

    @njit(cache=False)  # type: ignore[untyped-decorator]
    def signals(close: Any, up: Any, dn: Any) -> Any:
        n = len(close)
        long_in = np.zeros(n, dtype=np.bool_)
        long_out = np.zeros(n, dtype=np.bool_)
        short_in = np.zeros(n, dtype=np.bool_)
        short_out = np.zeros(n, dtype=np.bool_)
        phase = 0  # 0 normal, 1 above_up, -1 below_dn
        position = 0
        for i in range(n):
            p, u, d = close[i], up[i], dn[i]
            if np.isnan(u):
                continue
            if phase == 0:
                if p > u * (1 + TIE):
                    if position < 0:
                        short_out[i] = True
                        position = 0
                    phase = 1
                elif p < d * (1 - TIE):
                    if position > 0:
                        long_out[i] = True
                        position = 0
                    phase = -1
            elif phase == 1:
                if p <= u * (1 + TIE):
                    if position > 0:
                        long_out[i] = True
                    short_in[i] = True
                    position = -1
                    phase = 0
            elif p >= d * (1 - TIE):
                if position < 0:
                    short_out[i] = True
                long_in[i] = True
                position = 1
                phase = 0
        return long_in, long_out, short_in, short_out

    close = frame["Close"]

    def once() -> Any:
        up, dn = bands(close)
        long_in, long_out, short_in, short_out = signals(close.to_numpy(), up, dn)
        return vbt.Portfolio.from_signals(close, long_in, long_out, short_in, short_out,
                                          size=QTY, fees=FEE, init_cash=CASH,
                                          upon_opposite_entry="reverse", freq="15min")

    def results(portfolio: Any) -> Any:
        # What binbot's ``execute`` and backtesting.py's ``run`` hand back as well: the
        # metrics (return, drawdown, Sharpe, Sortino, Calmar, win rate, profit factor, ...)
        # and the trade list.
        return portfolio.stats(), portfolio.trades.records_readable

    started = time.perf_counter()
    portfolio = once()
    first = time.perf_counter() - started
    results(portfolio)  # its own first call compiles too
    best = best_full = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        portfolio = once()
        best = min(best, time.perf_counter() - started)
        results(portfolio)
        best_full = min(best_full, time.perf_counter() - started)
    records = portfolio.trades.values  # structured array: entry_idx, exit_idx, status...
    index = close.index
    rows = []
    for r in records:
        closed = int(r["status"]) == 1
        rows.append((_to_ms(index[int(r["entry_idx"])]),
                     _to_ms(index[int(r["exit_idx"])]) if closed else None,
                     float(r["entry_price"]), float(r["exit_price"]) if closed else None,
                     int(r["direction"]) == 0))
    return best, best_full, first, round_trips_to_actions(rows)


# -- comparison and report ---------------------------------------------------------------------

def compare(ours: list[Action], theirs: list[Action], before: int) -> str:
    a = [x for x in ours if x[0] < before]
    b = [x for x in theirs if x[0] < before]
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x[0] != y[0] or x[1] != y[1] or not math.isclose(x[2], y[2], rel_tol=1e-12):
            return f"DIFFER at action {i}: ours {x} vs {y}"
    if len(a) != len(b):
        return f"DIFFER in length: ours {len(a)} vs {len(b)}"
    return f"agree ({len(a)} actions)"


def row(name: str, bars: int, seconds: float, actions: int, note: str) -> None:
    print(f"{name:<30} {bars:>10,} {seconds:>9.3f} {bars / seconds:>14,.0f} {actions:>9,}  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--months", type=int, default=None, help="only the first N months")
    # Five: on a shared VM one run in three can be 10-40 % slow (neighbours on the host).
    parser.add_argument("--repeat", type=int, default=5, help="best of R runs (default 5)")
    args = parser.parse_args()
    files = sorted(DATA.glob("FILUSDT-1m-*.csv.gz"))[: args.months]
    started = time.perf_counter()
    minute = load_files(files, Market.USDM)
    fifteen = aggregate(minute.bars, "15m").bars
    data15 = MarketData(minute.market, minute.symbol, fifteen, minute.price_decimals,
                        minute.qty_decimals)
    frame = pd.DataFrame({"Open": fifteen.open, "High": fifteen.high, "Low": fifteen.low,
                          "Close": fifteen.close, "Volume": fifteen.volume},
                         index=pd.to_datetime(fifteen.open_time, unit="ms", utc=True))
    print(f"machine: {describe()}")
    print(f"FILUSDT: {len(files)} months, {len(minute.bars):,} 1m candles, {len(fifteen):,} 15m "
          f"candles (loaded in {time.perf_counter() - started:.1f} s); best of {args.repeat} "
          f"(binbot: median too)")
    print(f"{'run':<30} {'bars':>10} {'seconds':>9} {'bars/s':>14} {'actions':>9}")
    before = int(fifteen.open_time[-2])  # compare the actions before the last two candles

    seconds, intrabar_replay, bars, intrabar, rejected, median = binbot_run(
        minute, "intrabar", args.repeat)
    replay = intrabar_replay
    row("binbot intrabar 1m (BotCore)", bars, seconds, len(intrabar),
        f"median {bars / median:,.0f}/s; replay loop alone {bars / replay:,.0f}/s; "
        f"target >= 1,000,000 1m bars/s"
        f"{'; REJECTED ' + str(rejected) if rejected else ''}")
    # binbot's bar-close runs alternate with backtesting.py's, the closest peer, so that a slow
    # spell of the machine falls on both alike.
    ours_runs: list[tuple[float, float, int, list[Action], int, float]] = []
    closest: list[tuple[float, list[Action]]] = []
    missing = ""
    for _ in range(args.repeat):
        ours_runs.append(binbot_run(data15, "bar_close", 1))
        if not missing:
            try:
                closest.append(backtesting_run(frame, 1))
            except ImportError as e:
                missing = e.name or "backtesting"
    seconds = min(r[0] for r in ours_runs)
    replay = min(r[1] for r in ours_runs)
    median = statistics.median(r[0] for r in ours_runs)
    _, _, bars, ours, rejected, _ = ours_runs[-1]
    ours_rate = bars / seconds
    row("binbot bar-close 15m (BotCore)", bars, seconds, len(ours),
        f"median {bars / median:,.0f}/s; replay loop alone {bars / replay:,.0f}/s; "
        f"the reference trade list"
        f"{'; REJECTED ' + str(rejected) if rejected else ''}")

    slowest_margin = math.inf
    if missing:
        print(f"{'backtesting.py 15m':<30} not installed ({missing}); pip install -e '.[bench]'")
    else:
        peer_seconds, actions = min(r[0] for r in closest), closest[-1][1]
        row("backtesting.py 15m", len(fifteen), peer_seconds, len(actions),
            compare(ours, actions, before))
        slowest_margin = ours_rate / (len(fifteen) / peer_seconds)
    try:
        peer_seconds, actions = backtrader_run(frame, args.repeat)
    except ImportError as e:
        print(f"{'backtrader 15m (coc)':<30} not installed ({e.name}); pip install -e '.[bench]'")
    else:
        row("backtrader 15m (coc)", len(fifteen), peer_seconds, len(actions),
            compare(ours, actions, before))
        slowest_margin = min(slowest_margin, ours_rate / (len(fifteen) / peer_seconds))
    outcome = vectorbt_run(frame, args.repeat)
    vbt_margin = vbt_full_margin = math.inf
    if outcome is None:
        print(f"{'vectorbt 15m':<30} not installed (optional)")
    else:
        vbt_seconds, vbt_full, vbt_first, actions = outcome
        row("vectorbt 15m (numba signals)", len(fifteen), vbt_seconds, len(actions),
            f"{compare(ours, actions, before)}; simulation only; first call with JIT "
            f"{vbt_first:.2f} s")
        row("vectorbt 15m + results", len(fifteen), vbt_full, len(actions),
            "the same, then stats() and the trade records")
        vbt_margin = ours_rate / (len(fifteen) / vbt_seconds)
        vbt_full_margin = ours_rate / (len(fifteen) / vbt_full)
    if slowest_margin < math.inf:
        print(f"binbot bar-close vs the fastest of backtesting.py/backtrader: "
              f"{slowest_margin:.2f}x (target: > 1)")
    if vbt_margin < math.inf:
        print(f"binbot bar-close vs vectorbt, both with their results (metrics and trades, "
              f"as binbot and backtesting.py are timed): {vbt_full_margin:.2f}x (target: > 1)")
        print(f"binbot bar-close vs vectorbt's simulation alone (a numba loop, no Python per "
              f"bar, no metrics): {vbt_margin:.2f}x")
    print("where binbot's intrabar time goes (replay loop alone):")
    _, replay, bars, _, _, _ = binbot_run(minute, "intrabar", args.repeat, idle=True)
    print(f"  replay clock + BotCore + simulator, idle strategy: {bars / replay:>12,.0f} bars/s")
    _, quiet_replay, bars, _, _, _ = binbot_run(minute, "intrabar", args.repeat,
                                                params={"quantity": QTY, "k": 50.0})
    print(f"  + Boll, bands never reached (k=50, no order):     {bars / quiet_replay:>12,.0f} "
          f"bars/s")
    print(f"  + Boll k=2 with its {len(intrabar):,} trade actions:       "
          f"{len(minute.bars) / intrabar_replay:>12,.0f} bars/s "
          f"({(intrabar_replay - quiet_replay) / len(intrabar) * 1e6:.1f} us per action: "
          f"one market order each, its evaluation and hooks)")
    seconds, replay, bars, unskipped, _, _ = binbot_run(minute, "intrabar", args.repeat,
                                                       skip=False)
    print(f"  the same, every tick fed (no quiet-band skipping): {bars / replay:>12,.0f} bars/s "
          f"({bars / seconds:,.0f} end to end; "
          f"{'same actions' if unskipped == intrabar else 'ACTIONS DIFFER'})")


if __name__ == "__main__":
    main()
