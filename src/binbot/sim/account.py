"""The simulated account behind one bot: balances, the position, margin and funding.

USD-M: ``balance`` is the wallet balance in the quote asset (realised PnL, fees and funding land
there); an order that would leave the wallet below the position's isolated initial margin is
refused. Spot: ``balance`` is the quote balance and the position quantity is the base balance,
which can never go negative (no shorting); a buy needs ``price * qty + fee`` of quote.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Final

from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.domain.positions import Position, isolated_liquidation_price, liquidation_terms
from binbot.sim.config import SimConfig

_INF: Final = math.inf
_ZERO: Final = Decimal(0)


class SimAccount:
    """Balances and the position of a simulated account, all Decimal."""

    def __init__(self, config: SimConfig, symbol: str) -> None:
        self._config = config
        self._spot = config.market is Market.SPOT
        self.balance: Decimal = config.starting_balance
        self.position = Position(symbol)
        # The position's liquidation price (None: none), kept with the float thresholds at
        # which the mark price reaches it (+-inf: none); all three move only with the position.
        self._liquidation: Decimal | None = None
        self._liquidation_terms = liquidation_terms(config.leverage,
                                                    config.maintenance_margin_rate)
        self.liquidate_below = -_INF
        self.liquidate_above = _INF

    @property
    def spot(self) -> bool:
        return self._spot

    @property
    def base_balance(self) -> Decimal:
        """Spot: the base asset held (the position); USD-M: the signed position quantity."""
        return self.position.quantity

    def refusal(self, fill: Fill) -> str:
        """Return why the account cannot take ``fill`` ("" when it can)."""
        if self._spot:
            if fill.side == "BUY" and fill.notional + fill.fee > self.balance:
                return (
                    f"insufficient balance: need {fill.notional + fill.fee} "
                    f"{self._config.quote_asset}, was {self.balance}"
                )
            if fill.side == "SELL" and fill.quantity > self.position.quantity:
                return f"insufficient balance: sell {fill.quantity}, was {self.position.quantity}"
            return ""
        position = self.position
        before = position.quantity
        after = before + fill.signed_quantity
        reducing = abs(after) <= abs(before) and (
            after == _ZERO or (after > _ZERO) == (before > _ZERO))
        if reducing:
            return ""
        if before == _ZERO:
            # Opening from flat (every other fill of a backtest): no PnL, and the margin is
            # ``Position.margin`` of the fill alone, computed in the same order.
            wallet = self.balance - fill.fee
            need = fill.quantity * fill.price / self._config.leverage
        else:
            # What booking the fill would leave, by ``Position.book`` itself on a copy of the
            # quantity and entry: the PnL of a close it makes, and the margin held afterwards.
            probe = Position(position.symbol, before, position.entry_price)
            _closed, pnl, _close_fee = probe.book(fill)
            wallet = self.balance + pnl - fill.fee
            need = probe.margin(self._config.leverage)
        if wallet < need:
            return f"margin is insufficient: need {need}, wallet would be {wallet}"
        return ""

    def apply(self, fill: Fill) -> None:
        """Book a fill (call ``refusal`` first)."""
        _closed, pnl, _close_fee = self.position.book(fill)  # no trade legs: only the PnL
        if self._spot:
            self.balance -= fill.signed_quantity * fill.price + fill.fee
        else:
            self.balance += _ZERO + pnl - fill.fee  # (summed from 0, as the legs were)
        self._update_liquidation()

    def apply_funding(self, mark_price: Decimal, rate: Decimal) -> Decimal:
        """USD-M funding: move the wallet by the payment; return it (0 on spot or flat)."""
        if self._spot or self.position.quantity == 0:
            return Decimal(0)
        amount = self.position.apply_funding(mark_price, rate)
        self.balance += amount
        return amount

    def liquidation_price(self) -> Decimal | None:
        """The position's isolated-margin liquidation price (None when flat, and on spot)."""
        return self._liquidation

    def equity(self, price: Decimal) -> Decimal:
        if self._spot:
            return self.balance + self.position.quantity * price
        return self.balance + self.position.unrealised_pnl(price)

    def _update_liquidation(self) -> None:
        """Recompute the liquidation price and thresholds: after every change of the position
        (funding moves neither its quantity nor its entry price)."""
        self.liquidate_below = -_INF
        self.liquidate_above = _INF
        position = self.position
        price = None if self._spot else isolated_liquidation_price(
            position.quantity, position.entry_price, self._liquidation_terms)
        self._liquidation = price
        if price is None:
            return
        if position.quantity > _ZERO:
            self.liquidate_below = float(price)
        else:
            self.liquidate_above = float(price)

    def snapshot(self) -> dict[str, Any]:
        return {"balance": str(self.balance), "position": self.position.to_dict()}

    def restore(self, data: dict[str, Any]) -> None:
        self.balance = Decimal(data["balance"])
        self.position = Position.from_dict(data["position"])
        self._update_liquidation()
