"""The replay clock: feeds prices and closed candles to the simulator and the bot, in time order.

Per interval candle ``j``: every tick of the interval goes to ``SimulatedExchange.on_price``
then ``BotCore.on_price`` (the simulator first, so a market order fills at the price that
triggered it, exactly as paper trading does), then the closed candle goes to
``BotCore.on_candle_closed`` and the equity is sampled at the last price. Funding payments are
applied before the first tick at or after their time, at the last price before it.

The loop is the backtest's hot path: the callees are bound methods held in locals, and each
interval's last tick (always fed) comes from plain Python lists prepared up front. The ticks
themselves stay numpy arrays: the skipping loop turns into Python numbers only the intervals
it has to scan (a fifth of them for BOLL on 1m ticks), not 900,000 ticks per run.

``ReplayBot`` is ``BotCore`` unchanged except for its ``forming`` view: instead of building a
``Candle`` object on every tick, the unclosed candle is computed when a strategy asks for it,
from the candles and ticks replayed so far (same values a live candle builder would report).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from binbot.backtest.bars import Bars
from binbot.backtest.ledger import Ledger
from binbot.backtest.ticks import Ticks
from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.engine.bot import BotCore
from binbot.sim.exchange import SimulatedExchange

Progress = Callable[[int, int], None]
_PROGRESS_EVERY = 1024  # intervals between progress reports (a power of two: cheap test)


def _unreported(done: int, total: int) -> None:
    """The progress report when nobody asked for one."""


@dataclass(frozen=True, slots=True, eq=False)
class FormingSource:
    """Builds the unclosed interval candle at any replay time (intrabar mode).

    ``interval_first[j]`` is the index of the first lower candle of interval ``j``.
    """

    market: Market
    symbol: str
    interval: str
    interval_ms: int
    interval_open: npt.NDArray[np.int64]
    interval_first: npt.NDArray[np.int64]
    lower: Bars
    ticks: Ticks

    def candle(self, j: int, time_ms: int) -> Candle | None:
        ticks = self.ticks
        first_bar = int(self.interval_first[j])
        first_tick = int(ticks.ends[first_bar - 1]) if first_bar else 0
        k = int(np.searchsorted(ticks.time, time_ms, "right")) - 1
        if k < first_tick:
            return None  # no price of this interval yet
        bar = int(np.searchsorted(ticks.ends, k, "right"))
        lower = self.lower
        bar_ticks_start = int(ticks.ends[bar - 1]) if bar else 0
        whole = k == int(ticks.ends[bar]) - 1  # the lower candle is complete
        high = float(lower.high[bar]) if whole else float(ticks.price[bar_ticks_start:k + 1].max())
        low = float(lower.low[bar]) if whole else float(ticks.price[bar_ticks_start:k + 1].min())
        volume = float(lower.volume[bar]) if whole else 0.0
        if bar > first_bar:
            high = max(high, float(lower.high[first_bar:bar].max()))
            low = min(low, float(lower.low[first_bar:bar].min()))
            volume += float(lower.volume[first_bar:bar].sum())
        open_time = int(self.interval_open[j])
        return Candle(self.market, self.symbol, self.interval, open_time,
                      open_time + self.interval_ms - 1,
                      float(lower.open[first_bar]), high, low, float(ticks.price[k]), volume,
                      0.0, 0, 0.0, 0.0, False)


class ReplayBot(BotCore):
    """``BotCore`` with an on-demand forming candle (see the module docstring)."""

    def __init__(self, *args: Any, forming: FormingSource | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._forming_source = forming
        self.replay_interval = -1  # the interval being replayed, -1 between candles

    @property
    def forming(self) -> Candle | None:
        source = self._forming_source
        j = self.replay_interval
        if source is None or j < 0:
            return None
        return source.candle(j, self.time)


@dataclass(frozen=True, slots=True)
class Funding:
    """A funding payment to apply before tick ``tick`` (``rate``: positive, longs pay)."""

    tick: int
    time_ms: int
    rate: Decimal


@dataclass(frozen=True, slots=True, eq=False)
class ReplayPlan:
    """Everything the loop needs."""

    tick_time: npt.NDArray[np.int64]
    tick_price: npt.NDArray[np.float64]
    interval_ends: list[int]  # one past the last tick of each interval
    last_time: list[int]  # the time and price of each interval's last tick
    last_price: list[float]
    candles: Sequence[Candle | None]  # the closed candle of each interval (None: never closes)
    sample_time: npt.NDArray[np.int64]  # when each interval's equity sample is taken
    funding: Sequence[Funding] = ()
    # The lowest and highest tick price of each interval (empty: not given): with them the
    # loop skips the ticks at which neither the simulator nor the bot can do anything.
    interval_low: Sequence[float] = ()
    interval_high: Sequence[float] = ()


def replay(bot: ReplayBot, sim: SimulatedExchange, ledger: Ledger, plan: ReplayPlan,
           progress: Progress | None = None, track_forming: bool = True
           ) -> npt.NDArray[np.float64]:
    """Run the plan; return the equity sampled after each interval."""
    if progress is None:
        progress = _unreported
    if len(plan.tick_time) == len(plan.interval_ends) and not plan.funding:
        return _replay_closes(bot, sim, ledger, plan, progress, track_forming)
    if plan.interval_low and not plan.funding:
        return _replay_skipping(bot, sim, ledger, plan, progress, track_forming)
    times: list[int] = plan.tick_time.tolist()
    prices: list[float] = plan.tick_price.tolist()
    ends = plan.interval_ends
    candles = plan.candles
    funding = list(plan.funding)
    next_funding = funding[0].tick if funding else len(times) + 1
    funding_pos = 0
    count = len(ends)
    equity = np.empty(count, dtype=np.float64)
    sim_price = sim.on_price
    on_price = bot.on_price
    on_candle = bot.on_candle_closed
    portfolio = bot.portfolio
    start = 0
    for j in range(count):
        end = ends[j]
        if track_forming:
            bot.replay_interval = j
        while next_funding < end:
            for t, p in zip(times[start:next_funding], prices[start:next_funding], strict=True):
                sim_price(t, p)
                on_price(t, p)
            _pay(bot, sim, ledger, funding[funding_pos],
                 prices[next_funding - 1] if next_funding > 0 else None)
            start = next_funding
            funding_pos += 1
            next_funding = (funding[funding_pos].tick if funding_pos < len(funding)
                            else len(times) + 1)
        for t, p in zip(times[start:end], prices[start:end], strict=True):
            sim_price(t, p)
            on_price(t, p)
        candle = candles[j]
        if candle is not None:
            on_candle(candle)
            bot.replay_interval = -1
        if portfolio.changes != ledger.seen:
            ledger.refresh()
        equity[j] = ledger.base + ledger.qty * (prices[end - 1] - ledger.entry)
        start = end
        if not j & (_PROGRESS_EVERY - 1):
            progress(j, count)
    progress(count, count)
    return equity


def _replay_skipping(bot: ReplayBot, sim: SimulatedExchange, ledger: Ledger, plan: ReplayPlan,
                     progress: Progress, track_forming: bool) -> npt.NDArray[np.float64]:
    """``replay`` without the calls that cannot do anything.

    The simulator and the bot each tell the band of prices at which ``on_price`` only records
    the time and the price (``quiet_band``); nothing but such a call, made with a price
    outside the band, changes the band. So a tick inside both bands is skipped, provided
    the last tick of each interval is always fed (the candle close and the equity sample read
    the time and price it leaves); when the whole interval lies inside both bands (its lowest
    and highest price, precomputed) only that last tick is fed. Inside the bot's band it goes
    to ``BotCore.record_price``, which is all ``on_price`` would do there. The result is the
    same as feeding every tick; ``tests/unit/backtest/test_replay_skipping.py`` checks it.
    """
    times = plan.tick_time
    prices = plan.tick_price
    ends = plan.interval_ends
    last_times = plan.last_time
    last_prices = plan.last_price
    candles = plan.candles
    lows = plan.interval_low
    highs = plan.interval_high
    count = len(ends)
    equity: list[float] = []
    sample = equity.append
    sim_price = sim.on_price
    on_price = bot.on_price
    record = bot.record_price
    on_candle = bot.on_candle_closed
    portfolio = bot.portfolio
    bot_band = bot.quiet_band
    sim_band = sim.quiet_band
    start = 0
    for j in range(count):
        end = ends[j]
        last = end - 1
        if track_forming:
            bot.replay_interval = j
        lo, hi = bot_band()
        sim_lo, sim_hi = sim_band()
        low = lows[j]
        high = highs[j]
        if not (lo < low and sim_lo < low and high < hi and high < sim_hi):
            lo = max(lo, sim_lo)  # the intersection of the bands, for the ticks
            hi = min(hi, sim_hi)
            for i, p in enumerate(prices[start:last].tolist(), start):
                if lo < p < hi:
                    continue
                t = int(times[i])
                sim_price(t, p)
                on_price(t, p)
                # The call may have changed the bands: their intersection again (inlined).
                lo, hi = bot_band()
                sim_lo, sim_hi = sim_band()
                if sim_lo > lo:
                    lo = sim_lo
                if sim_hi < hi:
                    hi = sim_hi
        p = last_prices[j]
        t = last_times[j]
        sim_price(t, p)
        if lo < p < hi:
            record(t, p)
        else:
            on_price(t, p)
        candle = candles[j]
        if candle is not None:
            on_candle(candle)
            bot.replay_interval = -1
        if portfolio.changes != ledger.seen:
            ledger.refresh()
        sample(ledger.base + ledger.qty * (p - ledger.entry))
        start = end
        if not j & (_PROGRESS_EVERY - 1):
            progress(j, count)
    progress(count, count)
    return np.array(equity, dtype=np.float64)


def _replay_closes(bot: ReplayBot, sim: SimulatedExchange, ledger: Ledger, plan: ReplayPlan,
                   progress: Progress, track_forming: bool) -> npt.NDArray[np.float64]:
    """``replay`` for one tick per interval (bar-close mode), without the inner loop."""
    sim_price = sim.on_price
    on_price = bot.on_price
    on_candle = bot.on_candle_closed
    portfolio = bot.portfolio
    candles = plan.candles
    count = len(candles)
    equity: list[float] = []
    sample = equity.append
    for j, (t, p) in enumerate(zip(plan.last_time, plan.last_price, strict=True)):
        if track_forming:
            bot.replay_interval = j
        sim_price(t, p)
        on_price(t, p)
        candle = candles[j]
        if candle is not None:
            on_candle(candle)
            bot.replay_interval = -1
        if portfolio.changes != ledger.seen:
            ledger.refresh()
        sample(ledger.base + ledger.qty * (p - ledger.entry))
        if not j & (_PROGRESS_EVERY - 1):
            progress(j, count)
    progress(count, count)
    return np.array(equity, dtype=np.float64)


def _pay(bot: BotCore, sim: SimulatedExchange, ledger: Ledger, funding: Funding,
         mark: float | None) -> None:
    if mark is None:
        return
    sim.apply_funding(funding.time_ms, funding.rate, mark)
    bot.on_funding(funding.time_ms, funding.rate, mark)
    ledger.refresh()
