"""Fills (executions): the only thing that changes a position."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from binbot.domain.values import fast_init

_ZERO = Decimal(0)  # comparing with a Decimal, not the int 0: the same answer, cheaper


@fast_init
@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of an order. ``side`` is ``"BUY"`` or ``"SELL"``.

    ``trade_id`` is the exchange's trade id (unique per symbol): fills are applied once per id.
    ``fee`` is a positive cost in ``fee_asset``; ``maker`` tells which fee rate applied.
    """

    trade_id: str
    client_order_id: str
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    maker: bool
    time: int

    def __post_init__(self) -> None:
        if self.side not in ("BUY", "SELL"):
            raise ValueError(f"fill side must be BUY or SELL, was {self.side!r}")
        if self.quantity <= _ZERO:
            raise ValueError(f"fill quantity must be positive, was {self.quantity}")
        if self.price <= _ZERO:
            raise ValueError(f"fill price must be positive, was {self.price}")

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side == "BUY" else -self.quantity

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity

    def to_dict(self) -> dict[str, Any]:
        return {
            "trade_id": self.trade_id,
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side,
            "price": str(self.price),
            "quantity": str(self.quantity),
            "fee": str(self.fee),
            "fee_asset": self.fee_asset,
            "maker": self.maker,
            "time": self.time,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fill:
        return cls(
            trade_id=str(data["trade_id"]),
            client_order_id=str(data["client_order_id"]),
            symbol=str(data["symbol"]),
            side=str(data["side"]),
            price=Decimal(data["price"]),
            quantity=Decimal(data["quantity"]),
            fee=Decimal(data["fee"]),
            fee_asset=str(data["fee_asset"]),
            maker=bool(data["maker"]),
            time=int(data["time"]),
        )
