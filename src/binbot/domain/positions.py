"""Positions derived from fills, and the trade records they produce.

A ``Position`` holds a signed base quantity (long > 0, short < 0) with its average entry price,
and accumulates realised PnL, fees and funding. ``apply_fill`` splits a fill into trade legs
(open_long, close_long, open_short, close_short); a fill that flips the position yields a close
leg and an open leg, the fee split pro rata.

Futures helpers assume isolated margin with one position and no maintenance amount (Binance's
first tier, ``cum = 0``). With wallet = initial margin ``Q*E/L``, Binance's isolated formula
``LP = (WB + cum - s*Q*E) / (Q*MMR - s*Q)`` (s = +1 long, -1 short) simplifies to
``E * (1 - 1/L) / (1 - MMR)`` for a long and ``E * (1 + 1/L) / (1 + MMR)`` for a short.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from binbot.domain.fills import Fill
from binbot.domain.values import builder, fast_init

ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)
MINUS_ONE: Final = Decimal(-1)
DEFAULT_MAINTENANCE_MARGIN_RATE: Final = Decimal("0.004")


class TradeKind(StrEnum):
    OPEN_LONG = "open_long"
    CLOSE_LONG = "close_long"
    OPEN_SHORT = "open_short"
    CLOSE_SHORT = "close_short"


# Module names for the kinds every fill builds (an enum member read through its class is an
# unspecialised lookup on Python 3.11; see ``binbot.domain.orders``).
_OPEN_LONG: Final = TradeKind.OPEN_LONG
_CLOSE_LONG: Final = TradeKind.CLOSE_LONG
_OPEN_SHORT: Final = TradeKind.OPEN_SHORT
_CLOSE_SHORT: Final = TradeKind.CLOSE_SHORT


@fast_init
@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One leg of a fill. ``pnl`` is the gross realised PnL of a close leg (0 for opens)."""

    time: int
    kind: TradeKind
    price: Decimal
    quantity: Decimal
    fee: Decimal
    pnl: Decimal
    client_order_id: str
    trade_id: str

    @property
    def net_pnl(self) -> Decimal:
        return self.pnl - self.fee

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "kind": self.kind.value,
            "price": str(self.price),
            "quantity": str(self.quantity),
            "fee": str(self.fee),
            "pnl": str(self.pnl),
            "client_order_id": self.client_order_id,
            "trade_id": self.trade_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TradeRecord:
        return cls(
            time=int(data["time"]),
            kind=TradeKind(data["kind"]),
            price=Decimal(data["price"]),
            quantity=Decimal(data["quantity"]),
            fee=Decimal(data["fee"]),
            pnl=Decimal(data["pnl"]),
            client_order_id=str(data["client_order_id"]),
            trade_id=str(data["trade_id"]),
        )


_new_leg: Final = builder(TradeRecord)  # every fill builds legs: no type call


@dataclass(slots=True)
class Position:
    """A net position in one symbol, in base units; every amount is Decimal."""

    symbol: str
    quantity: Decimal = ZERO
    entry_price: Decimal = ZERO
    realised_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    funding: Decimal = ZERO

    @property
    def side(self) -> str:
        """``"long"``, ``"short"`` or ``"flat"``."""
        if self.quantity > 0:
            return "long"
        if self.quantity < 0:
            return "short"
        return "flat"

    def apply_fill(self, fill: Fill) -> list[TradeRecord]:
        """Move the position by one fill; return the trade legs it produced."""
        closed, pnl, close_fee = self.book(fill)
        price = fill.price
        quantity = fill.quantity
        opens = _OPEN_LONG if fill.side == "BUY" else _OPEN_SHORT
        if closed is None:
            return [_new_leg(fill.time, opens, price, quantity, fill.fee, ZERO,
                             fill.client_order_id, fill.trade_id)]
        # The fill closes against the position: a buy closes a short, a sell a long.
        closes = _CLOSE_SHORT if opens is _OPEN_LONG else _CLOSE_LONG
        legs = [_new_leg(fill.time, closes, price, closed, close_fee, pnl,
                         fill.client_order_id, fill.trade_id)]
        rest = quantity - closed
        if rest > ZERO:  # it flipped the position: the rest opens the other way
            legs.append(_new_leg(fill.time, opens, price, rest, fill.fee - close_fee, ZERO,
                                 fill.client_order_id, fill.trade_id))
        return legs

    def book(self, fill: Fill) -> tuple[Decimal | None, Decimal, Decimal]:
        """Move the position by one fill, like ``apply_fill`` but without building the legs;
        return ``(closed, pnl, close_fee)``: the quantity it closed (None when it only adds to
        the position), the gross PnL of that close and its share of the fee (0 and 0 then).

        A simulated account books every fill and needs only the PnL, so no leg is built for
        it. Runs for every fill, twice in paper and backtests (the account and the bot): the
        comparisons and the direction use Decimal constants, not ints (same results, about
        half the cost).
        """
        quantity = fill.quantity
        price = fill.price
        fee = fill.fee
        signed = quantity if fill.side == "BUY" else -quantity
        self.fees += fee
        qty = self.quantity
        if qty == ZERO:
            # ``(|0| * entry + quantity * price) / quantity`` (below) is exactly ``price``.
            self.entry_price = price
            self.quantity = qty + signed
            return None, ZERO, ZERO
        if (qty > ZERO) == (signed > ZERO):
            total = qty + signed
            self.entry_price = (abs(qty) * self.entry_price + quantity * price) / abs(total)
            self.quantity = total
            return None, ZERO, ZERO
        held = abs(qty)
        closing = quantity if quantity < held else held  # ``min(held, quantity)``, ties alike
        direction = ONE if qty > ZERO else MINUS_ONE
        pnl = (price - self.entry_price) * closing * direction
        self.realised_pnl += pnl
        close_fee = fee * closing / quantity
        self.quantity = qty + signed
        if self.quantity == ZERO:
            self.entry_price = ZERO
        elif quantity > held:  # flipped: what is left opened at the fill's price
            self.entry_price = price
        return closing, pnl, close_fee

    def apply_funding(self, mark_price: Decimal, rate: Decimal) -> Decimal:
        """Book a funding payment (positive rate: longs pay shorts); return the amount received."""
        amount = -self.quantity * mark_price * rate
        self.funding += amount
        return amount

    def unrealised_pnl(self, mark_price: Decimal) -> Decimal:
        return (mark_price - self.entry_price) * self.quantity if self.quantity else ZERO

    def notional(self, mark_price: Decimal) -> Decimal:
        return abs(self.quantity) * mark_price

    def margin(self, leverage: int) -> Decimal:
        """Isolated initial margin held by the position: ``|qty| * entry / leverage``."""
        return abs(self.quantity) * self.entry_price / leverage

    def liquidation_price(
        self, leverage: int, maintenance_rate: Decimal = DEFAULT_MAINTENANCE_MARGIN_RATE
    ) -> Decimal | None:
        """Isolated-margin liquidation price (see the module docstring); None when flat."""
        return isolated_liquidation_price(self.quantity, self.entry_price,
                                          liquidation_terms(leverage, maintenance_rate))

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "quantity": str(self.quantity),
            "entry_price": str(self.entry_price),
            "realised_pnl": str(self.realised_pnl),
            "fees": str(self.fees),
            "funding": str(self.funding),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Position:
        return cls(
            symbol=str(data["symbol"]),
            quantity=Decimal(data["quantity"]),
            entry_price=Decimal(data["entry_price"]),
            realised_pnl=Decimal(data["realised_pnl"]),
            fees=Decimal(data["fees"]),
            funding=Decimal(data.get("funding", "0")),
        )


LiquidationTerms = tuple[Decimal, Decimal, Decimal, Decimal]


def liquidation_terms(leverage: int, maintenance_rate: Decimal = DEFAULT_MAINTENANCE_MARGIN_RATE
                      ) -> LiquidationTerms:
    """The factors of the liquidation price for one leverage and maintenance rate: ``1 - 1/L``,
    ``1 - m`` (a long), ``1 + 1/L``, ``1 + m`` (a short). An account whose leverage is fixed
    computes them once instead of for every fill."""
    inverse = ONE / leverage
    return ONE - inverse, ONE - maintenance_rate, ONE + inverse, ONE + maintenance_rate


def isolated_liquidation_price(quantity: Decimal, entry_price: Decimal,
                               terms: LiquidationTerms) -> Decimal | None:
    """Isolated-margin liquidation price of a position (see the module docstring), None when
    flat: ``entry (1 - 1/L) / (1 - m)`` for a long (at least 0), ``entry (1 + 1/L) / (1 + m)``
    for a short."""
    if quantity == ZERO:
        return None
    long_factor, long_divisor, short_factor, short_divisor = terms
    if quantity > ZERO:
        price = entry_price * long_factor / long_divisor
        return price if price > ZERO else ZERO  # ``max(ZERO, price)``, without the call
    return entry_price * short_factor / short_divisor
