"""Order book depth snapshots (the REST side of order-book synchronisation)."""

from __future__ import annotations

from dataclasses import dataclass

from binbot.domain.market import Market


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    """A book snapshot; levels are (price, quantity), bids descending and asks ascending."""

    market: Market
    symbol: str
    last_update_id: int
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]
