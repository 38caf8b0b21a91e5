"""Decimal helpers for the account side of the local exchange.

Money never goes through float here: parameters are parsed from their text as Binance would
(``-1100`` on anything that is not a plain decimal), and every amount goes out as fixed-point
text without an exponent.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Final

ZERO: Final = Decimal(0)
_DECIMAL_RE: Final = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")


class NumberError(ValueError):
    """A parameter that is not a plain non-negative decimal."""


def parse_decimal(text: str) -> Decimal:
    """``"12.50"`` -> ``Decimal("12.50")``; signs, exponents, NaN and spaces are refused."""
    if not _DECIMAL_RE.match(text):
        raise NumberError(text)
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        raise NumberError(text) from None


def decimals_of(value: Decimal) -> int:
    """How many decimal places ``value`` needs (``1.50`` -> 1, ``100`` -> 0)."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def from_scaled(value: int, decimals: int) -> Decimal:
    return Decimal(value).scaleb(-decimals)


def fixed(value: Decimal, places: int) -> str:
    """Fixed-point text with exactly ``places`` decimals (truncating, never rounding up)."""
    quantum = Decimal(1).scaleb(-places)
    text = format(value.quantize(quantum, rounding=ROUND_DOWN), "f")
    return "0" + text[2:] if text.startswith("-0") and Decimal(text) == 0 else text


def plain(value: Decimal, max_places: int = 8) -> str:
    """Shortest fixed-point text with at most ``max_places`` decimals (``"0"`` for zero)."""
    text = fixed(value, max_places)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    if step <= 0:
        return value
    return (value // step) * step
