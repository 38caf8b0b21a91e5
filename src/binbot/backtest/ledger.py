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


def trade_lists(legs: Iterable[Leg], end_ms: int
                ) -> tuple[list[Trade], list[TradeRecord], list[tuple[int, int]]]:
    """From the portfolio's legs, in one pass (a backtest has tens of thousands of them):

    - the trade list, one ``Trade`` per leg (the kind's value from a table: ``Enum.value``
      is a slow property);
    - the closed round trips, net of all their fees (a close's own fee and the share of the
      entry fees of the quantity it closes), entered when the position opened;
    - the spans spent in a position (one still open at ``end_ms`` counts until then).
    """
    actions = _ACTIONS
    make = builder(Trade)  # no type call per trade
    record = builder(TradeRecord)
    trades: list[Trade] = []
    add = trades.append
    trips: list[TradeRecord] = []
    spans: list[tuple[int, int]] = []
    opened: int | None = None
    open_qty = _ZERO
    open_fees = _ZERO
    zero = _ZERO  # comparisons with a Decimal, not the int 0: the same answer, cheaper
    # ``float(Decimal)`` goes through the decimal string: remembered for the last price and
    # quantity, which a reversal's two legs and a close after its open share as objects.
    price_of = quantity_of = zero
    price_float = quantity_float = 0.0
    for leg in legs:
        kind = leg.kind
        time = leg.time
        quantity = leg.quantity
        fee = leg.fee
        pnl = leg.pnl
        price = leg.price
        if price is not price_of:
            price_of = price
            price_float = float(price)
        if quantity is not quantity_of:
            quantity_of = quantity
            quantity_float = float(quantity)
        if kind not in _CLOSES:
            add(make(time, actions[kind], price_float, quantity_float, float(fee),
                     0.0 if pnl is zero else float(pnl)))
            if open_qty == zero:
                opened = time
            open_qty += quantity
            open_fees += fee
            continue
        add(make(time, actions[kind], price_float, quantity_float, float(fee), float(pnl)))
        start = opened if opened is not None else time
        if quantity == open_qty:  # the whole position: all the entry fees (the usual close)
            trips.append(record(start, time, float(pnl - fee - open_fees),
                                float(fee + open_fees)))
        else:
            share = open_fees * quantity / open_qty if open_qty > zero else zero
            trips.append(record(start, time, float(pnl - fee - share), float(fee + share)))
            open_qty -= quantity
            open_fees -= share
            if open_qty > zero:
                continue
        spans.append((start, time))
        open_qty = zero
        open_fees = zero
        opened = None
    if opened is not None:
        spans.append((opened, end_ms))
    return trades, trips, spans


_ACTIONS = {kind: kind.value for kind in TradeKind}
