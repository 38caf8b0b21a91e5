"""Order checks against a symbol's filters, with each venue's error codes (protocol §7, §11)."""

from __future__ import annotations

from decimal import Decimal

from binbot.exchange.decimals import ZERO, decimals_of
from binbot.exchange.rest import BinanceError
from binbot.exchange.rules import SymbolRules

SPOT_MAX_DECIMALS = 8


def usdm_price(rules: SymbolRules, price: Decimal, mark: Decimal | None) -> None:
    """PRICE_FILTER (and PERCENT_PRICE against the mark when ``mark`` is given)."""
    if decimals_of(price) > rules.price_precision:
        raise BinanceError(-1111, "Precision is over the maximum defined for this asset.")
    if price < rules.min_price:
        raise BinanceError(-4013, "Price less than min price.")
    if price > rules.max_price:
        raise BinanceError(-4016, f"Limit price can't be higher than {rules.max_price}.")
    if (price - rules.min_price) % rules.tick != 0:
        raise BinanceError(-4014, "Price not increased by tick size.")
    if mark is not None and mark > 0:
        up = mark * rules.percent_up
        down = mark * rules.percent_down
        if price > up:
            raise BinanceError(-4016, f"Limit price can't be higher than "
                                      f"{up.quantize(rules.tick)}.")
        if price < down:
            raise BinanceError(-4024, f"Limit price can't be lower than "
                                      f"{down.quantize(rules.tick)}.")


def usdm_quantity(rules: SymbolRules, qty: Decimal, market: bool) -> None:
    if qty <= 0:
        raise BinanceError(-4003, "Quantity less than or equal to zero.")
    if decimals_of(qty) > rules.qty_precision:
        raise BinanceError(-1111, "Precision is over the maximum defined for this asset.")
    if qty < rules.min_qty:
        raise BinanceError(-4004, "Quantity less than min quantity.")
    if qty > (rules.market_max_qty if market else rules.max_qty):
        raise BinanceError(-4005, "Quantity greater than max quantity.")
    if (qty - rules.min_qty) % rules.step != 0:
        raise BinanceError(-4023, "Quantity not increased by step size.")


def usdm_notional(rules: SymbolRules, price: Decimal, qty: Decimal, reduce_only: bool) -> None:
    if not reduce_only and price * qty < rules.min_notional:
        raise BinanceError(-4164, f"Order's notional must be no smaller than "
                                  f"{rules.min_notional.normalize()} (unless you choose reduce "
                                  "only).")


def _spot_precision(name: str, value: Decimal) -> None:
    if decimals_of(value) > SPOT_MAX_DECIMALS:
        raise BinanceError(-1111, f"Parameter '{name}' has too much precision.")


def spot_price(rules: SymbolRules, price: Decimal, name: str = "price") -> None:
    _spot_precision(name, price)
    if price <= 0:
        raise BinanceError(-1013, "Filter failure: PRICE_FILTER")
    if price < rules.min_price or price > rules.max_price or price % rules.tick != 0:
        raise BinanceError(-1013, "Filter failure: PRICE_FILTER")


def spot_quantity(rules: SymbolRules, qty: Decimal, market: bool) -> None:
    _spot_precision("quantity", qty)
    if qty <= ZERO:
        raise BinanceError(-1013, "Filter failure: LOT_SIZE")
    if market and qty > rules.market_max_qty:
        raise BinanceError(-1013, "Filter failure: MARKET_LOT_SIZE")
    if qty < rules.min_qty or qty > rules.max_qty or (qty - rules.min_qty) % rules.step != 0:
        raise BinanceError(-1013, "Filter failure: LOT_SIZE")


def spot_notional(rules: SymbolRules, price: Decimal, qty: Decimal) -> None:
    if price * qty < rules.min_notional:
        raise BinanceError(-1013, "Filter failure: MIN_NOTIONAL")
