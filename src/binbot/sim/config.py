"""Settings of the simulated exchange (fees, fill price model, leverage)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from binbot.domain.market import Market
from binbot.domain.positions import DEFAULT_MAINTENANCE_MARGIN_RATE

# Binance's standard (VIP 0, no BNB discount) rates: USD-M 0.05% taker / 0.02% maker,
# spot 0.1% / 0.1%. binbot.config.PaperSettings carries the same defaults.
USDM_TAKER: Final = Decimal("0.0005")
USDM_MAKER: Final = Decimal("0.0002")
SPOT_TAKER: Final = Decimal("0.001")
SPOT_MAKER: Final = Decimal("0.001")

FillPrice = Literal["last", "book"]


@dataclass(frozen=True, slots=True)
class SimConfig:
    """How the simulator fills and charges.

    ``fill_price``: ``"last"`` fills market orders at the latest trade price (the price that
    triggered the decision); ``"book"`` at the best ask (buys) / bid (sells) when a book ticker
    was seen, else the last price. ``slippage_bps`` then worsens market fills by that many basis
    points. Fees are charged in the quote asset on both markets (spot included, a simplification
    of Binance's "fee in the received asset" rule that keeps base balances round).
    """

    market: Market
    starting_balance: Decimal
    taker_fee: Decimal
    maker_fee: Decimal
    quote_asset: str = "USDT"
    leverage: int = 1
    fill_price: FillPrice = "last"
    slippage_bps: Decimal = Decimal(0)
    maintenance_margin_rate: Decimal = DEFAULT_MAINTENANCE_MARGIN_RATE

    def __post_init__(self) -> None:
        if self.starting_balance < 0:
            raise ValueError(f"starting balance must be >= 0, was {self.starting_balance}")
        if not 1 <= self.leverage <= 125:
            raise ValueError(f"leverage must be within 1..125, was {self.leverage}")
        if self.market is Market.SPOT and self.leverage != 1:
            raise ValueError(f"spot has no leverage, was {self.leverage}")
        if self.taker_fee < 0 or self.maker_fee < 0:
            raise ValueError(f"fees must be >= 0, was {self.taker_fee}/{self.maker_fee}")
        if self.slippage_bps < 0:
            raise ValueError(f"slippage must be >= 0 bps, was {self.slippage_bps}")

    @classmethod
    def standard(
        cls, market: Market, starting_balance: Decimal, leverage: int = 1
    ) -> SimConfig:
        """Binance's standard fee rates for ``market``, fills at the last price, no slippage."""
        spot = market is Market.SPOT
        return cls(
            market=market,
            starting_balance=starting_balance,
            taker_fee=SPOT_TAKER if spot else USDM_TAKER,
            maker_fee=SPOT_MAKER if spot else USDM_MAKER,
            leverage=leverage,
        )
