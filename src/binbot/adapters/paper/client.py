"""``PaperExecutionClient``: an ``ExecutionClient`` backed by ``SimulatedExchange``.

The service feeds it the live market (``on_price``/``on_mark_price``/``on_book_ticker`` and
``apply_funding``) before the bot sees the same update, binds it to the bot, and persists what it
reports through ``records``. ``snapshot()``/``restore()`` carry the simulated account (balances,
position, resting orders, counters) across restarts, so a paper bot resumes identically.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from binbot.adapters.paper.records import (
    PaperFunding,
    PaperOrderEvent,
    PaperOrderPlaced,
    PaperRecord,
    PaperRecordSink,
)
from binbot.config.settings import PaperSettings
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market
from binbot.domain.orders import Order, OrderEvent, OrderIntent
from binbot.ports.execution import EventSink
from binbot.sim.config import SimConfig
from binbot.sim.exchange import SimulatedExchange


def sim_config_from_settings(paper: PaperSettings, market: Market, capital: Decimal | None = None,
                             leverage: int = 1) -> SimConfig:
    """The simulator settings of a paper bot: fees per market, fill model, its budget."""
    spot = market is Market.SPOT
    return SimConfig(
        market=market,
        starting_balance=capital if capital is not None else paper.starting_balance,
        taker_fee=paper.spot_taker_fee if spot else paper.taker_fee,
        maker_fee=paper.spot_maker_fee if spot else paper.maker_fee,
        quote_asset=paper.quote_asset,
        leverage=1 if spot else leverage,
        fill_price=paper.fill_price,
        slippage_bps=paper.slippage_bps,
    )


def _discard_event(event: OrderEvent) -> None:
    """Default downstream sink until ``bind``."""


def _discard_record(record: PaperRecord) -> None:
    """Default record sink."""


class PaperExecutionClient:
    """Paper execution for one account (one bot) on live prices."""

    def __init__(self, account: str, instrument: Instrument, config: SimConfig,
                 records: PaperRecordSink | None = None) -> None:
        self._account = account
        self._records: PaperRecordSink = records or _discard_record
        self._downstream: EventSink = _discard_event
        self.exchange = SimulatedExchange(instrument, config)
        self.exchange.bind(self._relay)

    # -- ExecutionClient -----------------------------------------------------------------

    def bind(self, sink: EventSink) -> None:
        self._downstream = sink

    def submit(self, intent: OrderIntent) -> None:
        self._records(PaperOrderPlaced(self._account, intent.created_time, intent))
        self.exchange.submit(intent)

    def cancel(self, client_order_id: str) -> None:
        self.exchange.cancel(client_order_id)

    def open_orders(self) -> list[Order]:
        return self.exchange.open_orders()

    # -- market feed ---------------------------------------------------------------------

    def on_price(self, time_ms: int, price: float) -> None:
        self.exchange.on_price(time_ms, price)

    def on_mark_price(self, time_ms: int, mark: float) -> None:
        self.exchange.on_mark_price(time_ms, mark)

    def on_book_ticker(self, time_ms: int, bid: float, ask: float) -> None:
        self.exchange.on_book_ticker(time_ms, bid, ask)

    def apply_funding(self, time_ms: int, rate: Decimal, mark: float | None = None) -> Decimal:
        amount = self.exchange.apply_funding(time_ms, rate, mark)
        if amount:
            self._records(PaperFunding(self._account, time_ms, rate, amount,
                                       self.exchange.account.balance))
        return amount

    # -- persistence ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {"account": self._account, "exchange": self.exchange.snapshot()}

    def restore(self, data: dict[str, Any]) -> None:
        if data["account"] != self._account:
            raise ValueError(f"paper snapshot of {data['account']} restored into {self._account}")
        self.exchange.restore(data["exchange"])

    def _relay(self, event: OrderEvent) -> None:
        self._records(PaperOrderEvent(self._account, event))
        self._downstream(event)
