"""Instruments and the Decimal rounding rules of Binance's symbol filters."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from binbot.domain.market import Market

ZERO = Decimal(0)
_USDM = Market.USDM  # an enum member read through its class costs a slow lookup


class FilterViolation(ValueError):
    """An order parameter that the symbol's filters would reject."""


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable symbol with its exchangeInfo filters (every money field is Decimal).

    A filter field equal to zero means "disabled", as in exchangeInfo.
    """

    market: Market
    symbol: str
    base_asset: str
    quote_asset: str
    status: str
    tick_size: Decimal
    min_price: Decimal
    max_price: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_step_size: Decimal
    market_min_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal

    @property
    def trading(self) -> bool:
        return self.status == "TRADING"

    def round_qty(self, qty: Decimal, *, market_order: bool = False) -> Decimal:
        """Floor a quantity to the step size (never rounds up)."""
        # Comparisons with the Decimal ZERO, not the int 0: the same answer, half the cost
        # (this runs several times per order).
        use_market = market_order and self.market_step_size > ZERO
        step = self.market_step_size if use_market else self.step_size
        if step <= ZERO:
            return qty
        return (qty // step) * step

    def round_price(self, price: Decimal, *, buy: bool) -> Decimal:
        """Round a price to the tick, never more aggressive than asked.

        A buy rounds down and a sell rounds up. USD-M ticks are offset from ``min_price``.
        """
        if self.tick_size <= 0:
            return price
        base = self.min_price if self.market is _USDM else ZERO
        steps = (price - base) / self.tick_size
        rounding = ROUND_FLOOR if buy else ROUND_CEILING
        return base + steps.to_integral_value(rounding=rounding) * self.tick_size

    def check(self, price: Decimal, qty: Decimal, *, market_order: bool = False,
              reduce_only: bool = False) -> None:
        """Raise ``FilterViolation`` with the reason when an order would be rejected."""
        if self.status != "TRADING":
            raise FilterViolation(f"{self.symbol} is not trading, status was {self.status}")
        if qty <= ZERO:
            raise FilterViolation(f"quantity must be positive, was {qty}")
        if market_order:  # the MARKET_LOT_SIZE filter where it is set, else LOT_SIZE
            low = self.market_min_qty if self.market_min_qty > ZERO else self.min_qty
            high = self.market_max_qty if self.market_max_qty > ZERO else self.max_qty
            step = self.market_step_size if self.market_step_size > ZERO else self.step_size
        else:
            low, high, step = self.min_qty, self.max_qty, self.step_size
        if low > ZERO and qty < low:
            raise FilterViolation(f"quantity below minimum {low}, was {qty}")
        if high > ZERO and qty > high:
            raise FilterViolation(f"quantity above maximum {high}, was {qty}")
        if step > ZERO and (qty // step) * step != qty:  # ``round_qty``'s floor, inlined
            raise FilterViolation(f"quantity is not a multiple of the step size, was {qty}")
        if price <= ZERO:
            raise FilterViolation(f"price must be positive, was {price}")
        notional = price * qty
        exempt = reduce_only and self.market is _USDM
        if self.min_notional > ZERO and notional < self.min_notional and not exempt:
            raise FilterViolation(f"notional below minimum {self.min_notional}, was {notional}")


def to_wire(value: Decimal) -> str:
    """Format a Decimal as Binance expects: plain notation, no exponent, no trailing zeros."""
    if not value.is_finite():
        raise ValueError(f"not a finite decimal, was {value}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
