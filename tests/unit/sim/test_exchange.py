"""The shared fill simulator: order types, fees, slippage, filters, margin, spot balances,
liquidation, funding and exact snapshot/restore."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from binbot.domain.instrument import Instrument
from binbot.domain.market import Market
from binbot.domain.orders import (
    OrderEvent,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    make_client_order_id,
)
from binbot.sim import SimConfig, SimulatedExchange

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def instrument(market: Market = Market.USDM) -> Instrument:
    return Instrument(
        market=market, symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT",
        status="TRADING", tick_size=D("0.1"), min_price=D("0.1"), max_price=D(1_000_000),
        step_size=D("0.001"), min_qty=D("0.001"), max_qty=D(1000),
        market_step_size=D("0.001"), market_min_qty=D("0.001"), market_max_qty=D(100),
        min_notional=D(5),
    )


class Venue:
    def __init__(self, market: Market = Market.USDM, balance: str = "10000", leverage: int = 1,
                 **config: object) -> None:
        base = SimConfig.standard(market, D(balance), leverage)
        cfg = SimConfig(**{**{f: getattr(base, f) for f in base.__dataclass_fields__},
                           **config})  # type: ignore[arg-type]
        self.sim = SimulatedExchange(instrument(market), cfg)
        self.events: list[OrderEvent] = []
        self.sim.bind(self.events.append)
        self.seq = 0

    def order(self, side: OrderSide, qty: str, kind: OrderType = OrderType.MARKET,
              price: str | None = None, stop: str | None = None, reduce_only: bool = False,
              tif: TimeInForce | None = None) -> str:
        cid = make_client_order_id("t", self.seq)
        self.seq += 1
        self.sim.submit(OrderIntent(
            "t", self.seq, cid, self.sim.instrument.market, "BTCUSDT", side, kind, D(qty), 0,
            price=None if price is None else D(price), stop_price=None if stop is None else D(stop),
            time_in_force=tif, reduce_only=reduce_only,
        ))
        return cid

    def statuses(self, cid: str) -> list[str]:
        return [e.status.value for e in self.events if e.client_order_id == cid]

    def fills(self) -> list[tuple[str, Decimal, Decimal, Decimal, bool]]:
        return [(e.fill.side, e.fill.price, e.fill.quantity, e.fill.fee, e.fill.maker)
                for e in self.events if e.fill is not None]


def test_market_order_fills_at_the_triggering_price_with_taker_fee() -> None:
    v = Venue()
    v.sim.on_price(1, 20000.0)
    cid = v.order(BUY, "0.01")
    assert v.statuses(cid) == ["NEW", "FILLED"]
    assert v.fills() == [("BUY", D("20000.0"), D("0.01"), D("0.1"), False)]  # 0.05% of 200
    assert v.sim.account.balance == D("9999.9")
    assert v.sim.account.position.quantity == D("0.01")


def test_book_fill_and_slippage() -> None:
    v = Venue(fill_price="book", slippage_bps=D(10))
    v.sim.on_price(1, 20000.0)
    v.sim.on_book_ticker(1, 19999.0, 20001.0)
    v.order(BUY, "0.01")
    v.order(SELL, "0.01")
    (_, buy_price, *_), (_, sell_price, *_) = v.fills()
    assert buy_price == D("20021.1")  # ask * 1.001, rounded up to the tick
    assert sell_price == D("19979.0")  # bid * 0.999, rounded down


def test_no_price_and_filter_violations_are_rejected_with_a_reason() -> None:
    v = Venue()
    cid = v.order(BUY, "0.01")
    assert v.events[-1].status is OrderStatus.REJECTED
    assert v.events[-1].reason == "no market price yet"
    v.sim.on_price(1, 20000.0)
    for qty, reason in (("0.0001", "quantity below minimum"),
                        ("0.0015", "not a multiple of the step"),
                        ("0.0002", "below minimum")):
        cid = v.order(BUY, qty)
        assert v.statuses(cid) == ["REJECTED"]
        assert reason in v.events[-1].reason
    cid = v.order(BUY, "0.001", OrderType.LIMIT, price="100.05")
    assert "tick size" in v.events[-1].reason
    cid = v.order(BUY, "0.0002", OrderType.LIMIT, price="20000")
    assert v.statuses(cid) == ["REJECTED"]


def test_resting_limit_fills_as_maker_at_its_price_when_crossed() -> None:
    v = Venue()
    v.sim.on_price(1, 20000.0)
    cid = v.order(BUY, "0.01", OrderType.LIMIT, price="19900", tif=TimeInForce.GTC)
    assert v.statuses(cid) == ["NEW"]
    assert [o.client_order_id for o in v.sim.open_orders()] == [cid]
    v.sim.on_price(2, 19950.0)
    assert v.fills() == []
    v.sim.on_price(3, 19850.0)  # gaps through: still the limit price
    assert v.fills() == [("BUY", D(19900), D("0.01"), D("0.0398"), True)]
    assert v.statuses(cid) == ["NEW", "FILLED"]
    assert v.sim.open_orders() == []


def test_marketable_limit_takes_and_post_only_expires() -> None:
    v = Venue()
    v.sim.on_price(1, 20000.0)
    v.order(BUY, "0.01", OrderType.LIMIT, price="20100", tif=TimeInForce.GTC)
    assert v.fills() == [("BUY", D("20000.0"), D("0.01"), D("0.1"), False)]
    cid = v.order(BUY, "0.01", OrderType.LIMIT, price="20100", tif=TimeInForce.GTX)
    assert v.statuses(cid) == ["EXPIRED"]
    cid = v.order(BUY, "0.01", OrderType.LIMIT, price="19000", tif=TimeInForce.IOC)
    assert v.statuses(cid) == ["NEW", "EXPIRED"]


def test_stop_and_take_profit_trigger_on_trade_price() -> None:
    v = Venue()
    v.sim.on_price(1, 20000.0)
    v.order(BUY, "0.02")
    stop = v.order(SELL, "0.01", OrderType.STOP_MARKET, stop="19500", reduce_only=True)
    take = v.order(SELL, "0.01", OrderType.TAKE_PROFIT_MARKET, stop="20500", reduce_only=True)
    bad = v.order(SELL, "0.01", OrderType.STOP_MARKET, stop="20100")
    assert v.events[-1].reason == "order would immediately trigger"
    assert v.statuses(bad) == ["REJECTED"]
    v.sim.on_price(2, 20400.0)
    v.sim.on_price(3, 20600.0)
    assert v.statuses(take) == ["NEW", "FILLED"]
    assert v.fills()[-1] == ("SELL", D("20600.0"), D("0.01"), D("0.103"), False)
    v.sim.on_price(4, 19400.0)
    assert v.statuses(stop) == ["NEW", "FILLED"]
    assert v.sim.account.position.quantity == 0


def test_reduce_only_never_increases_and_is_capped() -> None:
    v = Venue()
    v.sim.on_price(1, 20000.0)
    cid = v.order(SELL, "0.01", reduce_only=True)
    assert v.statuses(cid) == ["REJECTED"]
    v.order(BUY, "0.01")
    cid = v.order(SELL, "0.05", reduce_only=True)
    assert v.statuses(cid) == ["NEW", "PARTIALLY_FILLED", "EXPIRED"]
    assert v.sim.account.position.quantity == 0


def test_margin_is_checked_with_leverage() -> None:
    v = Venue(balance="1000", leverage=5)
    v.sim.on_price(1, 20000.0)
    cid = v.order(BUY, "0.3")  # 6000 notional needs 1200 margin
    assert v.statuses(cid) == ["REJECTED"]
    assert "margin is insufficient" in v.events[-1].reason
    cid = v.order(BUY, "0.2")  # 4000 notional: 800 margin + 2 fee
    assert v.statuses(cid) == ["NEW", "FILLED"]
    cid = v.order(SELL, "0.2")  # closing always allowed
    assert v.statuses(cid) == ["NEW", "FILLED"]


def test_spot_cannot_short_or_overspend() -> None:
    v = Venue(Market.SPOT, balance="100")
    v.sim.on_price(1, 20000.0)
    cid = v.order(SELL, "0.001")
    assert v.statuses(cid) == ["REJECTED"]
    assert "insufficient balance" in v.events[-1].reason
    cid = v.order(BUY, "0.005")  # 100 + 0.1 fee > 100
    assert v.statuses(cid) == ["REJECTED"]
    cid = v.order(BUY, "0.004")
    assert v.statuses(cid) == ["NEW", "FILLED"]
    assert v.sim.account.balance == D(100) - D(80) - D("0.08")  # spot taker 0.1%
    assert v.sim.account.base_balance == D("0.004")
    v.sim.on_price(2, 21000.0)
    v.order(SELL, "0.004")
    assert v.sim.account.balance == D("19.92") + D(84) - D("0.084")
    assert v.sim.account.equity(D(21000)) == v.sim.account.balance


def test_liquidation_closes_at_the_liquidation_price_when_the_mark_crosses() -> None:
    v = Venue(balance="1000", leverage=10)
    v.sim.on_price(1, 20000.0)
    v.order(BUY, "0.1")
    liq = v.sim.account.liquidation_price()
    assert liq is not None
    v.sim.on_mark_price(2, float(liq) + 50)
    assert v.sim.account.position.quantity == D("0.1")
    v.sim.on_mark_price(3, float(liq) - 1)
    last = v.events[-1]
    assert last.client_order_id.startswith("autoclose-")
    assert last.status is OrderStatus.FILLED
    assert last.reason == "liquidation"
    assert last.fill is not None
    assert last.fill.price == D("18072.2")
    assert v.sim.account.position.quantity == 0


@pytest.mark.parametrize("side", [BUY, SELL])
def test_liquidation_happens_at_the_liquidation_price_and_not_before(side: OrderSide) -> None:
    """A mark one float short of the liquidation price leaves the position alone; the price
    itself (as a float) liquidates it, for a long and a short alike."""
    v = Venue(balance="1000", leverage=10)
    v.sim.on_price(1, 20000.1)
    v.order(side, "0.1")
    account = v.sim.account
    liq = account.liquidation_price()
    assert liq is not None
    exact = float(liq)
    long = side is BUY
    v.sim.on_mark_price(2, math.nextafter(exact, math.inf if long else -math.inf))
    assert account.position.quantity == (D("0.1") if long else D("-0.1"))
    assert v.events[-1].reason != "liquidation"
    v.sim.on_mark_price(3, exact)
    assert v.events[-1].reason == "liquidation"
    assert account.position.quantity == 0
    assert account.liquidation_price() is None
    assert (account.liquidate_below, account.liquidate_above) == (-math.inf, math.inf)


def test_trades_stand_in_for_the_mark_until_a_mark_arrives() -> None:
    v = Venue(balance="1000", leverage=10)
    v.sim.on_price(1, 20000.0)
    v.order(SELL, "0.1")
    v.sim.on_price(2, 22500.0)
    assert v.events[-1].reason == "liquidation"


def test_funding_moves_the_wallet() -> None:
    v = Venue()
    v.sim.on_price(1, 20000.0)
    v.order(BUY, "0.1")
    before = v.sim.account.balance
    paid = v.sim.apply_funding(2, D("0.0001"))
    assert paid == D("-0.2")
    assert v.sim.account.balance == before - D("0.2")


def test_cancel_and_duplicate_ids() -> None:
    v = Venue()
    v.sim.on_price(1, 20000.0)
    cid = v.order(BUY, "0.01", OrderType.LIMIT, price="19000", tif=TimeInForce.GTC)
    v.seq -= 1
    dup = v.order(BUY, "0.01", OrderType.LIMIT, price="19000", tif=TimeInForce.GTC)
    assert dup == cid
    assert v.events[-1].reason.startswith("duplicate client order id")
    v.sim.cancel(cid)
    v.sim.cancel(cid)  # no longer open: nothing happens
    assert v.statuses(cid) == ["NEW", "REJECTED", "CANCELED"]
    v.sim.on_price(2, 18000.0)
    assert v.fills() == []


def test_snapshot_restores_identically() -> None:
    a = Venue(balance="5000", leverage=3)
    a.sim.on_price(1, 20000.0)
    a.order(BUY, "0.1")
    a.order(SELL, "0.05", OrderType.LIMIT, price="21000", tif=TimeInForce.GTC)
    snap = a.sim.snapshot()
    b = Venue(balance="1", leverage=3)
    b.sim.restore(snap)
    assert b.sim.snapshot() == snap
    for venue in (a, b):
        venue.events.clear()
        venue.sim.on_price(2, 21500.0)
    assert a.fills() == b.fills()
    assert a.fills()
    assert a.sim.snapshot() == b.sim.snapshot()


@pytest.mark.parametrize("market", [Market.USDM, Market.SPOT])
def test_standard_fees(market: Market) -> None:
    cfg = SimConfig.standard(market, D(1))
    expected = (D("0.0005"), D("0.0002")) if market is Market.USDM else (D("0.001"), D("0.001"))
    assert (cfg.taker_fee, cfg.maker_fee) == expected
    with pytest.raises(ValueError, match="spot has no leverage"):
        SimConfig.standard(Market.SPOT, D(1), leverage=2)
