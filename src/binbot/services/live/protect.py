"""``ProtectiveStops``: every open position has a stop loss resting on the exchange, and a take
profit when the bot's risk limits set one (reliability.md §1 rule 7, issue 7).

``check`` compares what should rest with the bot's open protective orders and fixes the
difference: places a missing order, replaces one whose quantity, side or trigger no longer fits
the position, cancels them all when the position is flat. It is called at start (after
reconciliation, so a stop the exchange lost is re-placed), after every fill and after every
reconciliation. While a protective order is still on its way (sent, unknown or being
cancelled) it waits for the next call rather than sending a second one.

Orders: USD-M ``STOP_MARKET`` / ``TAKE_PROFIT_MARKET`` reduce-only algo orders for the whole
position; spot ``STOP_LOSS`` / ``TAKE_PROFIT`` for a long position. Levels: the risk monitor's
stop and target (``stop_loss_pct``/``_atr``, ``take_profit_pct``/``_atr``) when set, else
``default_stop_pct`` from the average entry price. A stop the market has already passed would
be refused (-2021): the position is closed at market instead.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from binbot.domain.market import Market
from binbot.domain.orders import Order, OrderSide, OrderStatus, OrderType
from binbot.engine.bot import BotCore

log = logging.getLogger(__name__)

STOP_TAG: Final = "protect:stop"
TAKE_PROFIT_TAG: Final = "protect:take_profit"
_IN_FLIGHT: Final = frozenset({OrderStatus.INTENT, OrderStatus.SUBMITTED, OrderStatus.UNKNOWN,
                               OrderStatus.PENDING_CANCEL})


@dataclass(frozen=True, slots=True)
class _Wanted:
    tag: str
    type: OrderType
    side: OrderSide
    quantity: Decimal
    trigger: Decimal


class ProtectiveStops:
    def __init__(self, bot: BotCore, *, default_stop_pct: float = 5.0) -> None:
        if not 0 < default_stop_pct < 100:
            raise ValueError(f"default_stop_pct must be within (0, 100), was {default_stop_pct}")
        self.bot = bot
        self.default_stop_pct = default_stop_pct
        self.placed = 0
        self.cancelled = 0

    def resting(self) -> list[Order]:
        return [o for o in self.bot.open_orders() if o.intent.tag in (STOP_TAG, TAKE_PROFIT_TAG)]

    def check(self) -> None:
        bot = self.bot
        mine = [o for o in bot.open_orders() if o.intent.tag in (STOP_TAG, TAKE_PROFIT_TAG)]
        if any(o.status in _IN_FLIGHT for o in mine):
            return  # one is on its way: decide again when it has landed
        wanted = self._wanted() if not bot.kill_switch else []
        for order in mine:
            if not any(self._fits(order, w) for w in wanted):
                self.cancelled += 1
                bot.cancel(order.client_order_id)
        for want in wanted:
            if any(self._fits(o, want) for o in mine):
                continue
            self._place(want)

    def _wanted(self) -> list[_Wanted]:
        bot = self.bot
        position = bot.portfolio.position
        qty = position.quantity
        if qty == 0 or (bot.market is Market.SPOT and qty < 0):
            return []
        long = qty > 0
        inst = bot.instrument
        monitor = bot.risk_monitor
        entry = float(position.entry_price)
        stop = monitor.stop if math.isfinite(monitor.stop) else entry * (
            1 - self.default_stop_pct / 100 if long else 1 + self.default_stop_pct / 100)
        side = OrderSide.SELL if long else OrderSide.BUY
        amount = inst.round_qty(abs(qty), market_order=True)
        if amount <= 0:
            return []
        # Round away from the market: a long's stop down, a short's up.
        wanted = [_Wanted(STOP_TAG, OrderType.STOP_MARKET, side, amount,
                          inst.round_price(Decimal(repr(stop)), buy=long))]
        if math.isfinite(monitor.target):
            wanted.append(_Wanted(TAKE_PROFIT_TAG, OrderType.TAKE_PROFIT_MARKET, side, amount,
                                  inst.round_price(Decimal(repr(monitor.target)), buy=not long)))
        return wanted

    @staticmethod
    def _fits(order: Order, want: _Wanted) -> bool:
        intent = order.intent
        return (intent.tag == want.tag and intent.side is want.side
                and intent.quantity == want.quantity and intent.stop_price == want.trigger)

    def _place(self, want: _Wanted) -> None:
        bot = self.bot
        price = bot.price
        if not math.isnan(price):
            last = Decimal(repr(price))
            selling = want.side is OrderSide.SELL
            stop = want.type is OrderType.STOP_MARKET
            # A sell stop must sit below the market, a sell take-profit above (buys mirrored).
            passed = (last <= want.trigger) if selling == stop else (last >= want.trigger)
            if passed:
                log.warning("bot %s: %s level %s already passed at %s: closing at market",
                            bot.bot_id, want.tag, want.trigger, last)
                bot.submit_protective(want.side, OrderType.MARKET, quantity=want.quantity,
                                      tag=want.tag)
                return
        self.placed += 1
        bot.submit_protective(want.side, want.type, quantity=want.quantity,
                              stop_price=want.trigger, tag=want.tag)
