"""Indicator lines for charts: ``bb:20:2``, ``rsi:14``, ``macd:12:26:9``, ``sma:50``, ``ema:21``.

Parsing is strict (unknown names, wrong arity or out-of-range periods raise ``ValueError`` with a
message the API returns as 422); computation uses ``binbot.indicators`` on the close prices.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from binbot.api.schemas.market import IndicatorSeries
from binbot.indicators.bollinger import bollinger_bands
from binbot.indicators.macd import macd
from binbot.indicators.moving_average import ema, sma
from binbot.indicators.rsi import rsi

MAX_PERIOD = 1000
MAX_INDICATORS = 8

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    name: str
    params: tuple[float, ...]

    @property
    def warmup(self) -> int:
        # EMAs converge slowly: give recursive indicators several periods of history.
        longest = int(max(self.params[:3] if self.name == "macd" else self.params[:1]))
        return longest * (4 if self.name in ("ema", "rsi", "macd") else 1)


_DEFAULTS: dict[str, tuple[float, ...]] = {
    "bb": (20, 2.0),
    "rsi": (14,),
    "macd": (12, 26, 9),
    "sma": (20,),
    "ema": (20,),
}
_PANES = {"bb": "price", "sma": "price", "ema": "price", "rsi": "oscillator",
          "macd": "oscillator"}


def parse_indicators(text: str | None) -> list[IndicatorSpec]:
    """``"bb,rsi:14"`` -> specs; ``ValueError`` naming the bad item otherwise."""
    if text is None or not text.strip():
        return []
    specs = []
    for raw in text.split(","):
        item = raw.strip().lower()
        if not item:
            continue
        name, *args = item.split(":")
        if name not in _DEFAULTS:
            raise ValueError(f"unknown indicator {name!r}; known: {', '.join(_DEFAULTS)}")
        defaults = _DEFAULTS[name]
        if len(args) > len(defaults):
            raise ValueError(f"{name} takes at most {len(defaults)} parameters, got {len(args)}")
        values: list[float] = []
        for index, default in enumerate(defaults):
            if index >= len(args):
                values.append(default)
                continue
            try:
                value = float(args[index])
            except ValueError:
                raise ValueError(f"{name}: parameter {args[index]!r} is not a number") from None
            if not math.isfinite(value):
                raise ValueError(f"{name}: parameter {args[index]!r} is not finite")
            values.append(value)
        _check(name, values)
        specs.append(IndicatorSpec(name, tuple(values)))
    if len(specs) > MAX_INDICATORS:
        raise ValueError(f"at most {MAX_INDICATORS} indicators per request")
    return specs


def _check(name: str, values: list[float]) -> None:
    periods = values[:3] if name == "macd" else values[:1]
    for period in periods:
        if period != int(period) or not 1 <= period <= MAX_PERIOD:
            raise ValueError(f"{name}: periods must be whole numbers in 1..{MAX_PERIOD}")
    if name == "rsi" and values[0] < 2:
        raise ValueError("rsi: period must be at least 2")
    if name == "bb" and not 0 <= values[1] <= 10:
        raise ValueError("bb: the width k must be between 0 and 10")
    if name == "macd" and values[0] >= values[1]:
        raise ValueError("macd: the fast period must be shorter than the slow one")


def _nullable(values: FloatArray) -> list[float | None]:
    return [None if not math.isfinite(v) else float(v) for v in values.tolist()]


def _lines(spec: IndicatorSpec, close: FloatArray) -> dict[str, FloatArray]:
    p = spec.params
    compute: dict[str, Callable[[], dict[str, FloatArray]]] = {
        "bb": lambda: dict(zip(("mid", "up", "dn"),
                               bollinger_bands(close, int(p[0]), p[1]), strict=True)),
        "rsi": lambda: {"rsi": rsi(close, int(p[0]))},
        "macd": lambda: dict(zip(("macd", "signal", "hist"),
                                 macd(close, int(p[0]), int(p[1]), int(p[2])), strict=True)),
        "sma": lambda: {"sma": sma(close, int(p[0]))},
        "ema": lambda: {"ema": ema(close, int(p[0]))},
    }
    return compute[spec.name]()


def compute_indicators(specs: list[IndicatorSpec], close: FloatArray, start: int, stop: int
                       ) -> list[IndicatorSeries]:
    """Each spec's lines over ``close``, keeping ``[start:stop]`` (before it: warm-up)."""
    result = []
    for spec in specs:
        lines = _lines(spec, close) if close.size else {}
        result.append(IndicatorSeries(
            name=spec.name, params=list(spec.params), pane=_PANES[spec.name],
            lines={key: _nullable(values[start:stop]) for key, values in lines.items()},
        ))
    return result
