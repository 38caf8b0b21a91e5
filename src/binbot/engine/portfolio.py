"""The bot's own ledger: its position, balance, PnL and trade records, derived from fills.

The same ``Position`` arithmetic as the simulated account, so in paper and backtests the two
always agree; live, the exchange is the truth and this ledger is checked against it.
Balance: USD-M wallet = capital + realised PnL - fees + funding; spot quote = that minus the
cost basis of the base held. Equity = capital + realised - fees + funding + unrealised, on both.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any, Final

from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.domain.positions import (
    DEFAULT_MAINTENANCE_MARGIN_RATE,
    Position,
    TradeKind,
    TradeRecord,
)

ZERO: Final = Decimal(0)
_CLOSES: Final = (TradeKind.CLOSE_LONG, TradeKind.CLOSE_SHORT)


class Portfolio:
    """Position, balances and trade records of one bot."""

    def __init__(self, market: Market, symbol: str, capital: Decimal, leverage: int = 1, *,
                 max_trades: int | None = 10_000,
                 maintenance_rate: Decimal = DEFAULT_MAINTENANCE_MARGIN_RATE) -> None:
        if capital <= 0:
            raise ValueError(f"capital must be positive, was {capital}")
        self.market = market
        self.capital = capital
        self.leverage = leverage
        self.maintenance_rate = maintenance_rate
        self.position = Position(symbol)
        self.trades: deque[TradeRecord] = deque(maxlen=max_trades)
        self.closed_trades = 0
        self.winning_trades = 0
        # Counts fills and funding payments: a reader that caches figures derived from the
        # position (a backtest's float equity terms) re-reads them when this moves.
        self.changes = 0

    def apply_fill(self, fill: Fill) -> list[TradeRecord]:
        self.changes += 1
        legs = self.position.apply_fill(fill)
        self.trades.extend(legs)
        for leg in legs:
            if leg.kind in _CLOSES:
                self.closed_trades += 1
                if leg.pnl - leg.fee > ZERO:  # net_pnl
                    self.winning_trades += 1
        return legs

    def apply_funding(self, mark_price: Decimal, rate: Decimal) -> Decimal:
        if self.market is Market.SPOT or self.position.quantity == 0:
            return ZERO
        self.changes += 1
        return self.position.apply_funding(mark_price, rate)

    @property
    def realised_pnl(self) -> Decimal:
        return self.position.realised_pnl

    @property
    def fees(self) -> Decimal:
        return self.position.fees

    @property
    def balance(self) -> Decimal:
        p = self.position
        wallet = self.capital + p.realised_pnl - p.fees + p.funding
        if self.market is Market.SPOT:
            return wallet - p.quantity * p.entry_price
        return wallet

    def unrealised_pnl(self, price: Decimal) -> Decimal:
        return self.position.unrealised_pnl(price)

    def equity(self, price: Decimal | None) -> Decimal:
        p = self.position
        base = self.capital + p.realised_pnl - p.fees + p.funding
        return base if price is None else base + p.unrealised_pnl(price)

    @property
    def win_rate(self) -> float | None:
        return None if not self.closed_trades else self.winning_trades / self.closed_trades

    def liquidation_price(self) -> Decimal | None:
        if self.market is Market.SPOT:
            return None
        return self.position.liquidation_price(self.leverage, self.maintenance_rate)

    def snapshot(self) -> dict[str, Any]:
        return {
            "capital": str(self.capital),
            "leverage": self.leverage,
            "position": self.position.to_dict(),
            "trades": [t.to_dict() for t in self.trades],
            "closed_trades": self.closed_trades,
            "winning_trades": self.winning_trades,
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.capital = Decimal(data["capital"])
        self.leverage = int(data["leverage"])
        self.position = Position.from_dict(data["position"])
        self.changes += 1
        self.trades.clear()
        self.trades.extend(TradeRecord.from_dict(t) for t in data["trades"])
        self.closed_trades = int(data["closed_trades"])
        self.winning_trades = int(data["winning_trades"])
