"""What the paper exchange records: every simulated order placed, every order event (fills
included) and every funding payment, in order, for the service to persist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from binbot.domain.orders import OrderEvent, OrderIntent


@dataclass(frozen=True, slots=True)
class PaperOrderPlaced:
    """An order reached the simulated exchange (before any outcome)."""

    account: str
    time: int
    intent: OrderIntent


@dataclass(frozen=True, slots=True)
class PaperOrderEvent:
    """The simulated exchange reported a change (NEW, FILLED with its fill, REJECTED...)."""

    account: str
    event: OrderEvent


@dataclass(frozen=True, slots=True)
class PaperFunding:
    account: str
    time: int
    rate: Decimal
    amount: Decimal
    balance: Decimal


PaperRecord = PaperOrderPlaced | PaperOrderEvent | PaperFunding
PaperRecordSink = Callable[[PaperRecord], None]
