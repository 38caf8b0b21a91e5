"""Input checks shared by the vectorized indicators.

Every vectorized indicator takes a 1-D series, returns a float64 array of the same length and
marks the warm-up with NaN. Like TA-Lib, a run of leading NaNs is allowed (so indicators can be
chained, e.g. an EMA of an RSI): the indicator starts at the first finite value. A NaN or an
infinity after that is a data error and raises, because silently propagating it would poison
every later value of a recursive indicator.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def as_series(values: npt.ArrayLike, name: str = "values") -> FloatArray:
    """Return ``values`` as a 1-D float64 array (no copy when it already is one)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, was {arr.ndim}-dimensional")
    return arr


def first_valid(arr: FloatArray, name: str = "values") -> int:
    """Index of the first finite value; raises if a non-finite value follows it.

    Returns ``len(arr)`` for an empty or all-NaN series.
    """
    finite = np.isfinite(arr)
    if finite.all():
        return 0
    start = int(np.argmax(finite)) if finite.any() else len(arr)
    if not finite[start:].all():
        bad = start + int(np.argmin(finite[start:]))
        raise ValueError(f"{name}[{bad}] is {arr[bad]!r}; only leading NaNs are allowed")
    return start


def check_period(period: int, minimum: int = 1, name: str = "period") -> int:
    """Validate an integer window length."""
    if isinstance(period, bool) or not isinstance(period, int | np.integer):
        raise TypeError(f"{name} must be an int, was {type(period).__name__}")
    if period < minimum:
        raise ValueError(f"{name} must be >= {minimum}, was {period}")
    return int(period)


def nan_array(length: int) -> FloatArray:
    """A float64 array of NaNs (the warm-up filler)."""
    return np.full(length, np.nan, dtype=np.float64)


def finite(value: float) -> float:
    """Reject NaN/inf handed to an incremental indicator (it would poison every later value)."""
    if not math.isfinite(value):
        raise ValueError(f"indicator input must be finite, was {value!r}")
    return value
