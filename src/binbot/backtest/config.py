"""What one backtest runs: strategy, market, data, replay mode and the simulated account."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from binbot.backtest.ticks import PricePath
from binbot.config.settings import PaperSettings
from binbot.domain.market import Market, interval_ms

Mode = Literal["intrabar", "bar_close"]
MODES: tuple[Mode, ...] = ("intrabar", "bar_close")
PRICE_PATHS: tuple[PricePath, ...] = ("close", "ohlc")


@dataclass(frozen=True)
class BacktestConfig:
    """One backtest.

    Data: ``data_files`` (Binance archive files) when given, else the candles stored at
    ``database_url`` (or in the engine given to ``run_backtest``; ``symbol`` is then needed).
    ``lower_interval`` is the timeframe replayed inside each ``interval`` candle (``"1m"`` by
    default); files are used at the interval they hold.

    Replay: ``mode="intrabar"`` feeds every lower-timeframe price as the real-time price and
    closes each interval candle after its last one; ``price_path="close"`` uses each lower
    candle's close at its close time, ``"ohlc"`` its open/low/high/close path at the times the
    local exchange streams them. ``mode="bar_close"`` feeds only each closed candle (its close
    as the price at its close time, then the candle).

    Time range: ``[start_ms, end_ms)`` of candle open times; replay starts at the first interval
    boundary at or after ``start_ms``, and up to ``warmup_candles`` closed candles before it are
    loaded as history (as a live bot does on start). Account: ``capital`` (default
    ``paper.starting_balance``), ``leverage`` and ``paper``'s fees, fill price and slippage,
    exactly as a paper bot. ``funding``: ``(time_ms, rate)`` payments (USD-M).
    """

    strategy: str = "boll"
    params: dict[str, Any] = field(default_factory=dict)
    market: Market = Market.USDM
    symbol: str | None = None
    interval: str = "15m"
    start_ms: int | None = None
    end_ms: int | None = None
    data_files: tuple[Path, ...] = ()
    database_url: str | None = None
    mode: Mode = "intrabar"
    price_path: PricePath = "close"
    lower_interval: str = "1m"
    capital: Decimal | None = None
    leverage: int = 1
    paper: PaperSettings = field(default_factory=PaperSettings)
    funding: tuple[tuple[int, Decimal], ...] = ()
    warmup_candles: int = 50

    def __post_init__(self) -> None:
        interval_ms(self.interval)  # raises InvalidInterval with the allowed list
        interval_ms(self.lower_interval)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, was {self.mode!r}")
        if self.price_path not in PRICE_PATHS:
            raise ValueError(f"price_path must be close or ohlc, was {self.price_path!r}")
        if (self.start_ms is not None and self.end_ms is not None
                and self.end_ms <= self.start_ms):
            raise ValueError(f"the end must be after the start, was {self.start_ms}..{self.end_ms}")
        if self.capital is not None and self.capital <= 0:
            raise ValueError(f"capital must be positive, was {self.capital}")
        if self.warmup_candles < 0:
            raise ValueError(f"warmup_candles must be >= 0, was {self.warmup_candles}")

    @property
    def starting_capital(self) -> Decimal:
        return self.capital if self.capital is not None else self.paper.starting_balance

    def with_params(self, params: dict[str, Any]) -> BacktestConfig:
        return replace(self, params=dict(params))

    def with_range(self, start_ms: int | None, end_ms: int | None) -> BacktestConfig:
        return replace(self, start_ms=start_ms, end_ms=end_ms)
