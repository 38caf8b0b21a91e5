"""The risk gate every order passes (basic checks; the full gate extends ``RiskGate``).

Trading states (reliability.md §1 rule 7): ACTIVE, REDUCING (only reduce-only orders),
HALTED (nothing but cancels). Checks here: the bot is running, the trading state allows the
order, the instrument filters accept it, and the resulting position stays within
``max_position_share`` of capital x leverage.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from binbot.domain.instrument import FilterViolation, Instrument
from binbot.domain.orders import OrderIntent, OrderType


class TradingState(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """``max_position_share``: the largest position notional as a share of capital x leverage
    (1 = all of it). ``max_order_notional``: per order, in quote (None = no limit)."""

    max_position_share: Decimal = Decimal(1)
    max_order_notional: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RiskInput:
    """What the gate needs to know about the bot at the time of the order."""

    running: bool
    price: Decimal
    position_qty: Decimal
    capital: Decimal
    leverage: int


class RiskGate:
    """Decides whether an intent may be sent; ``check`` returns "" or the reason it may not."""

    def __init__(self, instrument: Instrument, limits: RiskLimits | None = None) -> None:
        self.instrument = instrument
        self.limits = limits or RiskLimits()
        self.state = TradingState.ACTIVE
        self.state_reason = ""

    def set_state(self, state: TradingState, reason: str = "") -> None:
        self.state = state
        self.state_reason = reason

    def check(self, intent: OrderIntent, bot: RiskInput) -> str:
        if not bot.running:
            return "bot is not running"
        reduces = self._reduces(intent, bot.position_qty)
        if self.state is TradingState.HALTED:
            return f"trading halted: {self.state_reason}".rstrip(": ")
        if self.state is TradingState.REDUCING and not reduces:
            return f"only reducing orders allowed: {self.state_reason}".rstrip(": ")
        price = intent.price if intent.type is OrderType.LIMIT else intent.stop_price
        reference = price if price is not None else bot.price
        try:
            self.instrument.check(reference, intent.quantity,
                                  market_order=intent.type is not OrderType.LIMIT,
                                  reduce_only=intent.reduce_only)
        except FilterViolation as e:
            return str(e)
        notional = reference * intent.quantity
        cap = self.limits.max_order_notional
        if cap is not None and notional > cap and not reduces:
            return f"order notional above {cap}, was {notional}"
        if reduces:
            return ""
        after = abs(bot.position_qty + intent.quantity * intent.side.sign)
        limit = self.limits.max_position_share * bot.capital * bot.leverage
        if after * reference > limit:
            return f"position notional above {limit}, was {after * reference}"
        return ""

    @staticmethod
    def _reduces(intent: OrderIntent, position_qty: Decimal) -> bool:
        if intent.reduce_only:
            return True
        signed = intent.quantity * intent.side.sign
        return position_qty != 0 and (position_qty > 0) != (signed > 0) and (
            abs(signed) <= abs(position_qty)
        )
