"""Account wire structs -> domain values (orders, fills, balances, positions).

Orders that are not anybody's client order (an empty spot ``c``, USD-M ``autoclose-``
liquidations, ADL, settlement and delivery closes) are *foreign*: they come out as EXTERNAL
events under a synthetic id ``ext-<orderId>`` so that their fills still move the position.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Final

from binbot.adapters.binance.wire_account import (
    WireAccountPosition,
    WireAccountUpdate,
    WireAlgoOrder,
    WireAlgoUpdate,
    WireBalanceUpdate,
    WireExecutionReport,
    WireFuturesAssetBalance,
    WireOrder,
    WireOrderTradeUpdate,
    WirePositionRisk,
    WireSpotAccount,
    WireTrade,
    WireTradeLite,
)
from binbot.domain.account import AccountUpdate, Balance, BalanceDelta, PositionSnapshot
from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.domain.orders import (
    Order,
    OrderEvent,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
)

ZERO: Final = Decimal(0)
S = OrderStatus

# Venue order status -> domain status. NEW_ADL / NEW_INSURANCE are USD-M statuses of the
# closing orders of ADL and insurance-fund liquidations, reported complete in one update.
ORDER_STATUS: Final[dict[str, OrderStatus]] = {
    "NEW": S.NEW,
    "PENDING_NEW": S.SUBMITTED,
    "PARTIALLY_FILLED": S.PARTIALLY_FILLED,
    "FILLED": S.FILLED,
    "CANCELED": S.CANCELED,
    "PENDING_CANCEL": S.PENDING_CANCEL,
    "REJECTED": S.REJECTED,
    "EXPIRED": S.EXPIRED,
    "EXPIRED_IN_MATCH": S.EXPIRED,
    "NEW_ADL": S.FILLED,
    "NEW_INSURANCE": S.FILLED,
}

# Algo (USD-M conditional) status -> domain status while the algo order itself is tracked.
# TRIGGERING/TRIGGERED mean "still working": the child order reports fills on its own.
ALGO_STATUS: Final[dict[str, OrderStatus]] = {
    "NEW": S.NEW,
    "TRIGGERING": S.NEW,
    "TRIGGERED": S.NEW,
    "CANCELED": S.CANCELED,
    "EXPIRED": S.EXPIRED,
    "REJECTED": S.REJECTED,
    "FINISHED": S.FILLED,
}

# Execution types that carry a trade (CALCULATED = liquidation / ADL).
_TRADE_EXECUTIONS: Final = frozenset({"TRADE", "CALCULATED"})


def _dec(value: str | None) -> Decimal:
    return Decimal(value) if value else ZERO


def _opt_dec(value: str | None) -> Decimal | None:
    return Decimal(value) if value else None


def foreign_kind(client_order_id: str, execution: str = "") -> str:
    """Why an order is nobody's (``""`` when it carries a client order id)."""
    if not client_order_id:
        return "no-client-id"
    lowered = client_order_id.lower()
    if "autoclose" in lowered or execution == "CALCULATED":
        for prefix, kind in (("adl", "adl"), ("settlement", "settlement"),
                             ("delivery", "delivery")):
            if lowered.startswith(prefix):
                return kind
        return "liquidation"
    return ""


def external_id(exchange_order_id: str) -> str:
    """The id a foreign order is known by inside binbot (fits the client-id pattern)."""
    return f"ext-{exchange_order_id}"


# ----------------------------------------------------------------------------- stream reports


@dataclass(frozen=True, slots=True)
class OrderReport:
    """One order update from a user stream (USD-M ``ORDER_TRADE_UPDATE``, spot
    ``executionReport``), before it is attributed to one of our orders.

    ``fill_incomplete`` marks a trade whose event lacks its price or quantity (a recorded
    oddity: ``l`` or ``L`` of ``0`` with a trade id): fetch the order's trades over REST.
    """

    market: Market
    symbol: str
    client_order_id: str
    exchange_order_id: str
    side: str
    order_type: str
    execution: str
    status: OrderStatus
    time: int
    quantity: Decimal
    cumulative_qty: Decimal
    fill: Fill | None
    fill_incomplete: bool
    reduce_only: bool
    realised_pnl: Decimal | None
    reason: str
    foreign: str

    def event(self, client_order_id: str | None = None) -> OrderEvent:
        """This update as an event of ``client_order_id`` (default: the id it carries)."""
        cid = client_order_id or self.client_order_id
        fill = self.fill
        if fill is not None and fill.client_order_id != cid:
            fill = replace(fill, client_order_id=cid)
        return OrderEvent(cid, self.status, self.time, self.exchange_order_id, fill, self.reason)

    def external_event(self) -> OrderEvent:
        """This update of a foreign order, as EXTERNAL under ``ext-<orderId>``."""
        cid = external_id(self.exchange_order_id)
        fill = self.fill
        if fill is not None:
            fill = replace(fill, client_order_id=cid)
        kind = self.foreign or "not ours"
        reason = f"{kind}: {self.client_order_id!r} {self.execution} {self.status.value}"
        return OrderEvent(cid, S.EXTERNAL, self.time, self.exchange_order_id, fill, reason)


@dataclass(frozen=True, slots=True)
class AlgoReport:
    """A USD-M ``ALGO_UPDATE`` of a conditional order (``clientAlgoId``)."""

    symbol: str
    client_algo_id: str
    algo_id: str
    side: str
    order_type: str
    venue_status: str
    actual_order_id: str
    trigger_price: Decimal
    quantity: Decimal
    executed_qty: Decimal
    time: int
    reason: str

    def event(self) -> OrderEvent | None:
        """The algo order's own state change, or None when only its child order can tell.

        FINISHED with an execution is left to the child order's fills (a FILLED status ahead
        of them would make the state machine drop their PARTIALLY_FILLED updates).
        """
        status = self.venue_status
        if status in ("TRIGGERING", "TRIGGERED"):
            return None
        if status == "FINISHED":
            if self.executed_qty > 0:
                return None
            return OrderEvent(self.client_algo_id, S.EXPIRED, self.time, self.algo_id,
                              reason="triggered order finished without execution")
        mapped = ALGO_STATUS.get(status)
        if mapped is None:
            return None
        return OrderEvent(self.client_algo_id, mapped, self.time, self.algo_id,
                          reason=self.reason if mapped is not S.NEW else "")


@dataclass(frozen=True, slots=True)
class TradeNotice:
    """USD-M ``TRADE_LITE``: a fast fill notice without fee; the full record follows in
    ``ORDER_TRADE_UPDATE``, so it proves an order exists but is never booked as a fill."""

    symbol: str
    client_order_id: str
    exchange_order_id: str
    trade_id: str
    side: str
    price: Decimal
    quantity: Decimal
    maker: bool
    time: int


def _fill(trade_id: int, cid: str, symbol: str, side: str, price: Decimal, qty: Decimal,
          fee: str | None, fee_asset: str | None, maker: bool, time: int) -> Fill:
    return Fill(str(trade_id), cid, symbol, side, price, qty, _dec(fee), fee_asset or "",
                maker, time)


def futures_order_report(wire: WireOrderTradeUpdate) -> OrderReport:
    o = wire.o
    kind = foreign_kind(o.c, o.x)
    last_qty, last_price = _dec(o.l), _dec(o.L)
    traded = o.x in _TRADE_EXECUTIONS and o.t > 0
    complete = traded and last_qty > 0 and last_price > 0
    cid = external_id(str(o.i)) if kind else o.c
    fill = (_fill(o.t, cid, o.s, o.S, last_price, last_qty, o.n, o.N, o.m, o.T)
            if complete else None)
    return OrderReport(
        market=Market.USDM, symbol=o.s, client_order_id=o.c, exchange_order_id=str(o.i),
        side=o.S, order_type=o.ot or o.o, execution=o.x,
        status=ORDER_STATUS.get(o.X, S.UNKNOWN), time=o.T, quantity=_dec(o.q),
        cumulative_qty=_dec(o.z), fill=fill,
        fill_incomplete=traded and not complete and _dec(o.z) > 0,
        reduce_only=o.R, realised_pnl=_opt_dec(o.rp), reason="", foreign=kind,
    )


def spot_order_report(wire: WireExecutionReport) -> OrderReport:
    last_qty, last_price = _dec(wire.l), _dec(wire.L)
    kind = foreign_kind(wire.c, wire.x)
    traded = wire.x in _TRADE_EXECUTIONS and wire.t >= 0
    complete = traded and last_qty > 0 and last_price > 0
    cid = external_id(str(wire.i)) if kind else wire.c
    fill = (_fill(wire.t, cid, wire.s, wire.S, last_price, last_qty, wire.n, wire.N, wire.m,
                  wire.T) if complete else None)
    return OrderReport(
        market=Market.SPOT, symbol=wire.s, client_order_id=wire.c,
        exchange_order_id=str(wire.i), side=wire.S, order_type=wire.o, execution=wire.x,
        status=ORDER_STATUS.get(wire.X, S.UNKNOWN), time=wire.T, quantity=_dec(wire.q),
        cumulative_qty=_dec(wire.z), fill=fill,
        fill_incomplete=traded and not complete and _dec(wire.z) > 0,
        reduce_only=False, realised_pnl=None,
        reason="" if wire.r == "NONE" else wire.r, foreign=kind,
    )


def algo_report(wire: WireAlgoUpdate) -> AlgoReport:
    o = wire.o
    return AlgoReport(
        symbol=o.s, client_algo_id=o.caid, algo_id=str(o.aid), side=o.S, order_type=o.o,
        venue_status=o.X, actual_order_id=o.ai, trigger_price=_dec(o.tp),
        quantity=_dec(o.q), executed_qty=_dec(o.aq), time=wire.T, reason=o.rm,
    )


def trade_notice(wire: WireTradeLite) -> TradeNotice:
    return TradeNotice(wire.s, wire.c, str(wire.i), str(wire.t), wire.S, _dec(wire.L),
                       _dec(wire.l), wire.m, wire.T)


def futures_account_update(wire: WireAccountUpdate) -> AccountUpdate:
    balances = tuple(Balance(b.a, _dec(b.wb), _dec(b.cw)) for b in wire.a.B)
    positions = tuple(
        PositionSnapshot(p.s, _dec(p.pa), _dec(p.ep), _dec(p.up), p.mt, p.ps, _dec(p.bep))
        for p in wire.a.P
    )
    return AccountUpdate(Market.USDM, wire.T, wire.a.m, balances, positions)


def spot_account_position(wire: WireAccountPosition) -> AccountUpdate:
    balances = tuple(Balance(b.a, _dec(b.f) + _dec(b.l), _dec(b.f)) for b in wire.B)
    return AccountUpdate(Market.SPOT, wire.E, "ACCOUNT_POSITION", balances)


def spot_balance_delta(wire: WireBalanceUpdate) -> BalanceDelta:
    return BalanceDelta(Market.SPOT, wire.T or wire.E, wire.a, _dec(wire.d))


# ----------------------------------------------------------------------------- REST


@dataclass(frozen=True, slots=True)
class ExchangeOrder:
    """An order as a REST query reports it (regular or algo)."""

    market: Market
    symbol: str
    client_order_id: str
    exchange_order_id: str
    side: str
    order_type: str
    status: OrderStatus
    venue_status: str
    quantity: Decimal
    executed_qty: Decimal
    avg_price: Decimal
    price: Decimal
    stop_price: Decimal
    reduce_only: bool
    time: int
    is_algo: bool = False
    actual_order_id: str = ""
    fills: tuple[Fill, ...] = ()

    @property
    def foreign(self) -> str:
        return foreign_kind(self.client_order_id)

    def to_order(self, bot_id: str = "exchange") -> Order:
        """A domain ``Order`` for reconciliation (intent rebuilt from what the venue says).

        Foreign or malformed ids are replaced by ``ext-<orderId>`` and marked EXTERNAL.
        """
        cid = self.client_order_id
        try:
            side = OrderSide(self.side)
        except ValueError:
            side = OrderSide.BUY
        otype = _domain_type(self.order_type)
        price = self.price if self.price > 0 else None
        stop = self.stop_price if self.stop_price > 0 else None
        try:
            intent = _intent(bot_id, cid, self, side, otype, price, stop)
            status = self.status
        except ValueError:
            intent = _intent(bot_id, external_id(self.exchange_order_id), self, side,
                             OrderType.MARKET, None, None)
            status = S.EXTERNAL
        if self.foreign and status is not S.EXTERNAL:
            intent = _intent(bot_id, external_id(self.exchange_order_id), self, side,
                             OrderType.MARKET, None, None)
            status = S.EXTERNAL
        return Order(intent, status=status, exchange_order_id=self.exchange_order_id,
                     filled_qty=self.executed_qty, avg_price=self.avg_price,
                     updated_time=self.time)


def _domain_type(venue_type: str) -> OrderType:
    if venue_type in ("STOP_MARKET", "STOP_LOSS", "STOP"):
        return OrderType.STOP_MARKET
    if venue_type in ("TAKE_PROFIT_MARKET", "TAKE_PROFIT"):
        return OrderType.TAKE_PROFIT_MARKET
    if venue_type.startswith("LIMIT") or venue_type.endswith("_LIMIT"):
        return OrderType.LIMIT
    return OrderType.MARKET


def _intent(bot_id: str, cid: str, order: ExchangeOrder, side: OrderSide, otype: OrderType,
            price: Decimal | None, stop: Decimal | None) -> OrderIntent:
    if otype is OrderType.LIMIT and price is None:
        otype = OrderType.MARKET
    if otype in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET) and stop is None:
        otype = OrderType.MARKET
    quantity = order.quantity if order.quantity > 0 else order.executed_qty
    return OrderIntent(
        bot_id=bot_id, intent_seq=-1, client_order_id=cid, market=order.market,
        symbol=order.symbol, side=side, type=otype, quantity=quantity if quantity > 0 else
        Decimal("1e-18"), created_time=order.time, price=price, stop_price=stop,
        reduce_only=order.reduce_only,
    )


def exchange_order(wire: WireOrder, market: Market) -> ExchangeOrder:
    executed = _dec(wire.executedQty)
    if market is Market.USDM:
        avg = _dec(wire.avgPrice)
    else:
        quote = _dec(wire.cummulativeQuoteQty)
        avg = quote / executed if executed > 0 else ZERO
    time = wire.updateTime or wire.transactTime or wire.time
    cid = wire.clientOrderId
    if wire.origClientOrderId:  # a cancel answer: clientOrderId is the cancel request's id
        cid = wire.origClientOrderId
    fills = tuple(
        _fill(f.tradeId, cid, wire.symbol, wire.side, _dec(f.price), _dec(f.qty), f.commission,
              f.commissionAsset, False, time)
        for f in wire.fills
    )
    return ExchangeOrder(
        market=market, symbol=wire.symbol, client_order_id=cid,
        exchange_order_id=str(wire.orderId), side=wire.side, order_type=wire.type,
        status=ORDER_STATUS.get(wire.status, S.UNKNOWN), venue_status=wire.status,
        quantity=_dec(wire.origQty), executed_qty=executed, avg_price=avg,
        price=_dec(wire.price), stop_price=_dec(wire.stopPrice), reduce_only=wire.reduceOnly,
        time=time, fills=fills,
    )


def algo_order(wire: WireAlgoOrder) -> ExchangeOrder:
    actual = "" if wire.actualOrderId in (None, "", 0) else str(wire.actualOrderId)
    return ExchangeOrder(
        market=Market.USDM, symbol=wire.symbol, client_order_id=wire.clientAlgoId,
        exchange_order_id=str(wire.algoId), side=wire.side,
        order_type=wire.orderType or wire.type or "STOP_MARKET",
        status=ALGO_STATUS.get(wire.algoStatus, S.UNKNOWN), venue_status=wire.algoStatus,
        quantity=_dec(wire.quantity), executed_qty=ZERO, avg_price=ZERO,
        price=_dec(wire.price), stop_price=_dec(wire.triggerPrice),
        reduce_only=wire.reduceOnly, time=wire.updateTime or wire.createTime, is_algo=True,
        actual_order_id=actual,
    )


@dataclass(frozen=True, slots=True)
class TradeReport:
    """One of the account's trades (``myTrades`` / ``userTrades``), keyed by order id."""

    symbol: str
    trade_id: str
    exchange_order_id: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    maker: bool
    time: int
    realised_pnl: Decimal | None

    def to_fill(self, client_order_id: str) -> Fill:
        return Fill(self.trade_id, client_order_id, self.symbol, self.side, self.price,
                    self.quantity, self.fee, self.fee_asset, self.maker, self.time)


def trade_report(wire: WireTrade) -> TradeReport:
    if wire.side is not None:
        side = wire.side
    else:
        buyer = wire.isBuyer if wire.isBuyer is not None else bool(wire.buyer)
        side = "BUY" if buyer else "SELL"
    maker = wire.maker if wire.maker is not None else bool(wire.isMaker)
    return TradeReport(wire.symbol, str(wire.id), str(wire.orderId), side, _dec(wire.price),
                       _dec(wire.qty), _dec(wire.commission), wire.commissionAsset, maker,
                       wire.time, _opt_dec(wire.realizedPnl))


def position_snapshot(wire: WirePositionRisk) -> PositionSnapshot:
    return PositionSnapshot(
        symbol=wire.symbol, quantity=_dec(wire.positionAmt), entry_price=_dec(wire.entryPrice),
        unrealised_pnl=_dec(wire.unRealizedProfit), margin_type=wire.marginType,
        position_side=wire.positionSide, break_even_price=_dec(wire.breakEvenPrice),
        leverage=int(wire.leverage) if wire.leverage else None,
        mark_price=_opt_dec(wire.markPrice), liquidation_price=_opt_dec(wire.liquidationPrice),
    )


def futures_balances(rows: list[WireFuturesAssetBalance]) -> list[Balance]:
    return [Balance(r.asset, _dec(r.balance), _dec(r.availableBalance)) for r in rows]


def spot_balances(account: WireSpotAccount) -> list[Balance]:
    return [Balance(b.asset, _dec(b.free) + _dec(b.locked), _dec(b.free))
            for b in account.balances]
