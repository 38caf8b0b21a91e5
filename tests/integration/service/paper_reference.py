"""An independent replay of 1m archive candles straight into a strategy, for comparisons.

It reads the archive file with pandas, walks each 1m candle along the intrabar ticks the local
exchange trades, aggregates the bot's interval candles itself and feeds a fresh BotCore with a
paper account: the trades the live service records must equal these.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from binbot.adapters.paper import PaperExecutionClient, sim_config_from_settings
from binbot.config.settings import PaperSettings
from binbot.domain.candle import Candle
from binbot.domain.instrument import Instrument
from binbot.domain.market import MINUTE_MS, Market, interval_ms
from binbot.domain.price_path import intrabar_ticks
from binbot.engine import BotCore
from binbot.strategy import load_strategy

COLUMNS = ["open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
           "count", "taker_buy_volume", "taker_buy_quote_volume", "ignore"]


def write_head(source: Path, target: Path, rows: int) -> None:
    """Copy the first ``rows`` data rows of an archive file (header kept)."""
    with gzip.open(source, "rt") as src, gzip.open(target, "wt") as dst:
        for index, line in enumerate(src):
            if index > rows:
                break
            dst.write(line)


def load_minutes(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame.columns = COLUMNS
    return frame


def last_tick_ms(minutes: pd.DataFrame) -> int:
    """Time of the very last trade the local exchange replays from these candles."""
    row = minutes.iloc[-1]
    ticks = intrabar_ticks(int(row["open_time"]), MINUTE_MS, float(row["open"]),
                           float(row["high"]), float(row["low"]), float(row["close"]))
    return ticks[-1][0]


@dataclass(frozen=True)
class Trade:
    action: str
    time_ms: int
    price: Decimal
    quantity: Decimal


def replay(minutes: pd.DataFrame, instrument: Instrument, interval: str, strategy: str,
           params: dict[str, Any], capital: Decimal, first_tape_ms: int) -> list[Trade]:
    """Trades of a bot that sees every tick from ``first_tape_ms`` on."""
    paper = PaperExecutionClient(
        "ref", instrument, sim_config_from_settings(PaperSettings(), instrument.market, capital))
    core = BotCore("ref", instrument, interval, load_strategy(strategy, params), paper,
                   capital=capital, max_trades=None)
    length = interval_ms(interval)
    rows = minutes.to_dict("records")
    interval_candles: list[Candle] = []
    forming: list[dict[str, Any]] = []
    started = False
    for row in rows:
        open_time = int(row["open_time"])
        if forming and open_time - open_time % length != int(forming[0]["open_time"]):
            forming = []
        forming.append(row)
        for time_ms, price in intrabar_ticks(open_time, MINUTE_MS, float(row["open"]),
                                             float(row["high"]), float(row["low"]),
                                             float(row["close"])):
            if time_ms < first_tape_ms:
                continue
            if not started:
                core.load_history(interval_candles[-1000:])
                core.start()
                started = True
            paper.on_price(time_ms, price)
            core.on_price(time_ms, price)
        if (open_time + MINUTE_MS) % length == 0:
            candle = _aggregate(instrument, interval, forming, length)
            forming = []
            if started:
                core.on_candle_closed(candle)
            else:
                interval_candles.append(candle)
    return [Trade(t.kind.value, t.time, t.price, t.quantity) for t in core.portfolio.trades]


def _aggregate(instrument: Instrument, interval: str, rows: list[dict[str, Any]],
               length: int) -> Candle:
    start = int(rows[0]["open_time"])
    start -= start % length
    return Candle(
        Market.USDM, instrument.symbol, interval, start, start + length - 1,
        float(rows[0]["open"]), max(float(r["high"]) for r in rows),
        min(float(r["low"]) for r in rows), float(rows[-1]["close"]),
        sum(float(r["volume"]) for r in rows), sum(float(r["quote_volume"]) for r in rows),
        sum(int(r["count"]) for r in rows), sum(float(r["taker_buy_volume"]) for r in rows),
        sum(float(r["taker_buy_quote_volume"]) for r in rows), True,
    )
