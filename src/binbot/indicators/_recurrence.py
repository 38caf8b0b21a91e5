"""First-order linear recurrence ``y[t] = decay * y[t-1] + u[t]`` without a Python loop per value.

EMA, Wilder's smoothing (RSI, ATR) and MACD are all this recurrence. A plain Python loop costs
~20 ms per 100k values; instead the series is cut into blocks of ``_BLOCK`` values. Inside a block
the zero-start response is one matrix product with the lower-triangular matrix of decay powers
``M[j, t] = decay**(t - j)``; the value carried into each block is the same recurrence over the
block ends (``decay**_BLOCK`` per step), solved recursively, and added back with
``decay**(t + 1)``. Every weight is a power of ``decay`` in [0, 1], so nothing grows: the result
matches the sequential loop to a few ulps (unlike the closed form ``decay**-t``, which overflows).
"""

from __future__ import annotations

import numpy as np

from binbot.indicators._arrays import FloatArray

_BLOCK = 32


def linear_recurrence(u: FloatArray, decay: float, initial: float) -> FloatArray:
    """Solve ``y[t] = decay * y[t-1] + u[t]`` for t = 0..len(u)-1, with ``y[-1] = initial``."""
    n = len(u)
    if n <= _BLOCK:
        return _sequential(u, decay, initial)
    blocks = -(-n // _BLOCK)
    padded = np.zeros(blocks * _BLOCK, dtype=np.float64)
    padded[:n] = u
    lags = np.arange(_BLOCK)
    powers = decay ** lags.astype(np.float64)
    offsets = lags[None, :] - lags[:, None]
    weights = np.where(offsets >= 0, powers[np.clip(offsets, 0, None)], 0.0)
    local: FloatArray = padded.reshape(blocks, _BLOCK) @ weights
    ends = linear_recurrence(np.ascontiguousarray(local[:, -1]), decay**_BLOCK, initial)
    starts = np.empty(blocks, dtype=np.float64)
    starts[0] = initial
    starts[1:] = ends[:-1]
    local += starts[:, None] * (powers * decay)[None, :]
    return local.reshape(-1)[:n]


def _sequential(u: FloatArray, decay: float, initial: float) -> FloatArray:
    out = np.empty(len(u), dtype=np.float64)
    y = initial
    for i, value in enumerate(u.tolist()):
        y = decay * y + value
        out[i] = y
    return out
