"""What a backtest records while it runs, and the trade lists it derives afterwards.

During the replay the ledger re-reads the portfolio's equity terms as floats at an equity
sample after a fill or a funding payment (``Portfolio.changes`` moved), so the equity curve
costs one multiply-add per sample instead of Decimal arithmetic. The bot runs without an event
sink: it builds no per-order events at all.

After the replay, the portfolio's trade legs (open_long, close_long, open_short, close_short;
a reversal is a close then an open) become the trade list, the round trips for the metrics and
the spans spent in a position. A close leg's round trip has the close's gross PnL minus its fee
and the share of the entry fees of the quantity it closes; its entry time is when the position
opened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from binbot.backtest.metrics import TradeRecord
from binbot.domain.positions import TradeKind
from binbot.domain.positions import TradeRecord as Leg
from binbot.domain.values import builder, fast_init
from binbot.engine.portfolio import Portfolio

_CLOSES = (TradeKind.CLOSE_LONG, TradeKind.CLOSE_SHORT)
_ZERO = Decimal(0)


@fast_init
@dataclass(frozen=True, slots=True)
class Trade:
    """One position action, as ``--json`` writes it (``pnl``: gross realised PnL of a close,
    0 for an open; ``fee`` in the quote asset)."""

    time_ms: int
    action: str
    price: float
    qty: float
    fee: float
    pnl: float

    def to_dict(self) -> dict[str, int | str | float]:
        return {"time_ms": self.time_ms, "action": self.action, "price": self.price,
                "qty": self.qty, "fee": self.fee, "pnl": self.pnl}


class Ledger:
    """Float equity terms of one running backtest (see the module docstring)."""

    __slots__ = ("_portfolio", "base", "entry", "qty", "seen")

    def __init__(self, capital: Decimal) -> None:
        self._portfolio: Portfolio | None = None
        self.seen = 0  # the portfolio's ``changes`` when the terms were last read
        # equity = base + qty * (price - entry), all floats
        self.base = float(capital)
        self.qty = 0.0
        self.entry = 0.0

    def attach(self, portfolio: Portfolio) -> None:
        """Read the equity terms from ``portfolio`` (the bot's)."""
        self._portfolio = portfolio
        self.refresh()

    def refresh(self) -> None:
        """Re-read the equity terms from the portfolio (after fills or a funding payment)."""
        p = self._portfolio
        if p is None:
            return
        self.seen = p.changes
        position = p.position
        self.base = float(p.equity(None))
        self.qty = float(position.quantity)
        self.entry = float(position.entry_price)


def trades_of(legs: Iterable[Leg]) -> list[Trade]:
    """The trade list (one per leg); the kind's value comes from a table (``Enum.value`` is a
    slow property, and a backtest has tens of thousands of legs)."""
    actions = _ACTIONS
    make = builder(Trade)  # no type call per trade
    return [make(leg.time, actions[leg.kind], float(leg.price), float(leg.quantity),
                  float(leg.fee), float(leg.pnl)) for leg in legs]


_ACTIONS = {kind: kind.value for kind in TradeKind}


def round_trips(legs: Iterable[Leg], end_ms: int
                ) -> tuple[list[TradeRecord], list[tuple[int, int]]]:
    """Closed round trips (net of all their fees) and the spans spent in a position; a position
    still open at ``end_ms`` counts as exposure until then."""
    trips: list[TradeRecord] = []
    spans: list[tuple[int, int]] = []
    opened: int | None = None
    open_qty = _ZERO
    open_fees = _ZERO
    zero = _ZERO  # comparisons with a Decimal, not the int 0: the same answer, cheaper
    for leg in legs:
        if leg.kind not in _CLOSES:
            if open_qty == zero:
                opened = leg.time
            open_qty += leg.quantity
            open_fees += leg.fee
            continue
        start = opened if opened is not None else leg.time
        fee = leg.fee
        share = open_fees * leg.quantity / open_qty if open_qty > zero else zero
        trips.append(TradeRecord(start, leg.time, float(leg.pnl - fee - share),
                                 float(fee + share)))
        open_qty -= leg.quantity
        open_fees -= share
        if open_qty <= zero:
            spans.append((start, leg.time))
            open_qty = zero
            open_fees = zero
            opened = None
    if opened is not None:
        spans.append((opened, end_ms))
    return trips, spans
