"""PaperExecutionClient: the shared simulator on live prices, recording everything."""

from __future__ import annotations

from decimal import Decimal

from binbot.adapters.paper import (
    PaperExecutionClient,
    PaperFunding,
    PaperOrderEvent,
    PaperOrderPlaced,
    PaperRecord,
    sim_config_from_settings,
)
from binbot.config.settings import PaperSettings
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market
from binbot.domain.orders import OrderEvent, OrderIntent, OrderSide, OrderType, TimeInForce

D = Decimal


def instrument(market: Market = Market.USDM) -> Instrument:
    return Instrument(market, "BTCUSDT", "BTC", "USDT", "TRADING", D("0.1"), D("0.1"),
                      D(1_000_000), D("0.001"), D("0.001"), D(1000), D("0.001"), D("0.001"),
                      D(1000), D(5))


def intent(seq: int, side: OrderSide, qty: str, kind: OrderType = OrderType.MARKET,
           price: str | None = None) -> OrderIntent:
    return OrderIntent("paper-1", seq, f"bb-test{seq}", Market.USDM, "BTCUSDT", side, kind,
                       D(qty), seq, price=None if price is None else D(price),
                       time_in_force=TimeInForce.GTC if price else None)


def test_settings_map_to_the_simulator() -> None:
    paper = PaperSettings()
    usdm = sim_config_from_settings(paper, Market.USDM, D(500), leverage=3)
    assert (usdm.taker_fee, usdm.maker_fee, usdm.leverage) == (D("0.0005"), D("0.0002"), 3)
    assert usdm.starting_balance == D(500)
    spot = sim_config_from_settings(paper, Market.SPOT, leverage=3)
    assert (spot.taker_fee, spot.maker_fee, spot.leverage) == (D("0.001"), D("0.001"), 1)
    assert spot.starting_balance == paper.starting_balance


def test_records_every_order_event_and_funding_and_relays_to_the_bot() -> None:
    records: list[PaperRecord] = []
    seen: list[OrderEvent] = []
    client = PaperExecutionClient("paper-1", instrument(),
                                  sim_config_from_settings(PaperSettings(), Market.USDM),
                                  records.append)
    client.bind(seen.append)
    client.on_price(1, 30000.0)
    client.submit(intent(1, OrderSide.BUY, "0.01"))
    client.submit(intent(2, OrderSide.SELL, "0.01", OrderType.LIMIT, "31000"))
    assert [o.client_order_id for o in client.open_orders()] == ["bb-test2"]
    client.on_price(2, 31000.0)
    client.apply_funding(3, D("0.0001"))  # flat again: nothing to pay
    client.submit(intent(3, OrderSide.BUY, "0.01"))
    client.on_mark_price(4, 31000.0)
    paid = client.apply_funding(5, D("0.0001"))
    assert paid == D("-0.031")
    kinds = [type(r).__name__ for r in records]
    assert kinds == ["PaperOrderPlaced", "PaperOrderEvent", "PaperOrderEvent",
                     "PaperOrderPlaced", "PaperOrderEvent", "PaperOrderEvent",
                     "PaperOrderPlaced", "PaperOrderEvent", "PaperOrderEvent", "PaperFunding"]
    assert [e.status.value for e in seen] == ["NEW", "FILLED", "NEW", "FILLED", "NEW", "FILLED"]
    assert [r.event for r in records if isinstance(r, PaperOrderEvent)] == seen
    placed = [r for r in records if isinstance(r, PaperOrderPlaced)]
    assert placed[0].intent.client_order_id == "bb-test1"
    funding = records[-1]
    assert isinstance(funding, PaperFunding)
    assert funding.balance == client.exchange.account.balance


def test_snapshot_restore_keeps_the_paper_account() -> None:
    config = sim_config_from_settings(PaperSettings(), Market.USDM)
    a = PaperExecutionClient("paper-1", instrument(), config)
    a.on_price(1, 30000.0)
    a.submit(intent(1, OrderSide.BUY, "0.02"))
    a.submit(intent(2, OrderSide.SELL, "0.01", OrderType.LIMIT, "32000"))
    b = PaperExecutionClient("paper-1", instrument(), config)
    b.restore(a.snapshot())
    assert b.snapshot() == a.snapshot()
    assert [o.client_order_id for o in b.open_orders()] == ["bb-test2"]
