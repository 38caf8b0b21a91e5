"""Binance wire formats of the account side: user-data events and signed REST answers.

Decimals stay ``str`` as sent; conversion happens in ``account_parsing.py``. Binance sends
``null`` for some fields of liquidation and price-match updates, so those are optional.
"""

from __future__ import annotations

import msgspec

from binbot.adapters.binance.wire import Wire

# ----------------------------------------------------------------------------- envelopes


class WireUserEnvelope(Wire, frozen=True):
    """A raw event, a combined-stream wrapper (``stream``/``data``) or a WS-API one
    (``subscriptionId``/``event``), or a WS-API reply (``id``/``status``/``result``)."""

    e: str = ""
    stream: str | None = None
    data: msgspec.Raw = msgspec.Raw(b"")
    subscriptionId: int | None = None
    event: msgspec.Raw = msgspec.Raw(b"")
    id: int | str | None = None
    status: int | None = None
    result: msgspec.Raw = msgspec.Raw(b"")
    error: msgspec.Raw = msgspec.Raw(b"")


# ----------------------------------------------------------------------------- USD-M events


class WireFuturesOrder(Wire, frozen=True):
    """``ORDER_TRADE_UPDATE.o``."""

    s: str
    c: str
    S: str
    o: str
    x: str
    X: str
    i: int
    q: str
    l: str  # noqa: E741 - Binance's name
    z: str
    L: str
    T: int
    t: int = 0
    p: str = "0"
    ap: str | None = None
    sp: str | None = None
    N: str | None = None
    n: str | None = None
    m: bool = False
    R: bool = False
    ps: str = "BOTH"
    rp: str | None = None
    ot: str | None = None


class WireOrderTradeUpdate(Wire, frozen=True):
    E: int
    T: int
    o: WireFuturesOrder


class WireTradeLite(Wire, frozen=True):
    E: int
    T: int
    s: str
    c: str
    S: str
    i: int
    l: str  # noqa: E741
    L: str
    t: int
    q: str = "0"
    p: str = "0"
    m: bool = False


class WireFuturesBalance(Wire, frozen=True):
    a: str
    wb: str
    cw: str
    bc: str = "0"


class WireFuturesPosition(Wire, frozen=True):
    s: str
    pa: str
    ep: str
    up: str
    mt: str
    ps: str
    bep: str = "0"


class WireAccountData(Wire, frozen=True):
    m: str
    B: list[WireFuturesBalance] = msgspec.field(default_factory=list)
    P: list[WireFuturesPosition] = msgspec.field(default_factory=list)


class WireAccountUpdate(Wire, frozen=True):
    E: int
    T: int
    a: WireAccountData


class WireAlgoData(Wire, frozen=True):
    caid: str
    aid: int
    s: str
    S: str
    o: str
    X: str
    q: str
    at: str = "CONDITIONAL"
    ai: str = ""
    ap: str = "0"
    aq: str = "0"
    tp: str = "0"
    p: str = "0"
    R: bool = False
    rm: str = ""


class WireAlgoUpdate(Wire, frozen=True):
    E: int
    T: int
    o: WireAlgoData


class WireListenKeyExpired(Wire, frozen=True):
    """``E`` has been seen as a string (adshao/go-binance#510)."""

    E: int | str = 0
    listenKey: str = ""


# ----------------------------------------------------------------------------- spot events


class WireExecutionReport(Wire, frozen=True):
    E: int
    s: str
    c: str
    S: str
    o: str
    x: str
    X: str
    i: int
    q: str
    l: str  # noqa: E741
    z: str
    L: str
    T: int
    t: int = -1
    p: str = "0"
    P: str = "0"
    C: str | None = ""
    n: str | None = None
    N: str | None = None
    m: bool = False
    r: str = "NONE"
    Z: str = "0"


class WireSpotBalance(Wire, frozen=True):
    a: str
    f: str
    l: str  # noqa: E741


class WireAccountPosition(Wire, frozen=True):
    E: int
    u: int = 0
    B: list[WireSpotBalance] = msgspec.field(default_factory=list)


class WireBalanceUpdate(Wire, frozen=True):
    E: int
    a: str
    d: str
    T: int = 0


# ----------------------------------------------------------------------------- REST


class WireOrderFill(Wire, frozen=True):
    """A fill of a spot ``newOrderRespType=FULL`` answer."""

    price: str
    qty: str
    commission: str
    commissionAsset: str
    tradeId: int


class WireOrder(Wire, frozen=True):
    """``GET``/``POST``/``DELETE`` order answers (spot and USD-M)."""

    symbol: str
    orderId: int
    clientOrderId: str
    status: str
    side: str
    type: str
    origQty: str = "0"
    executedQty: str = "0"
    price: str = "0"
    stopPrice: str = "0"
    avgPrice: str = "0"
    cummulativeQuoteQty: str = "0"  # spot (sic)
    cumQuote: str = "0"  # USD-M
    reduceOnly: bool = False
    time: int = 0
    updateTime: int = 0
    transactTime: int = 0
    origClientOrderId: str | None = None
    fills: list[WireOrderFill] = msgspec.field(default_factory=list)


class WireAlgoOrder(Wire, frozen=True):
    """``/fapi/v1/algoOrder`` answers and ``openAlgoOrders`` rows."""

    algoId: int
    clientAlgoId: str
    symbol: str = ""
    side: str = ""
    algoStatus: str = "NEW"
    type: str | None = None
    orderType: str | None = None
    quantity: str = "0"
    triggerPrice: str = "0"
    price: str = "0"
    reduceOnly: bool = False
    actualOrderId: str | int | None = None
    createTime: int = 0
    updateTime: int = 0


class WireTrade(Wire, frozen=True):
    """``GET /api/v3/myTrades`` (isBuyer/isMaker) and ``/fapi/v1/userTrades`` (side/maker)."""

    symbol: str
    id: int
    orderId: int
    price: str
    qty: str
    commission: str
    commissionAsset: str
    time: int
    side: str | None = None
    buyer: bool | None = None
    maker: bool | None = None
    isBuyer: bool | None = None
    isMaker: bool | None = None
    realizedPnl: str | None = None


class WirePositionRisk(Wire, frozen=True):
    symbol: str
    positionAmt: str
    entryPrice: str
    unRealizedProfit: str
    positionSide: str = "BOTH"
    marginType: str = ""
    leverage: str | None = None
    markPrice: str | None = None
    liquidationPrice: str | None = None
    breakEvenPrice: str = "0"


class WireFuturesAssetBalance(Wire, frozen=True):
    asset: str
    balance: str
    availableBalance: str


class WireSpotAccountBalance(Wire, frozen=True):
    asset: str
    free: str
    locked: str


class WireSpotAccount(Wire, frozen=True):
    balances: list[WireSpotAccountBalance] = msgspec.field(default_factory=list)
    canTrade: bool = True


class WirePositionMode(Wire, frozen=True):
    dualSidePosition: bool


class WireApiRestrictions(Wire, frozen=True):
    enableWithdrawals: bool = False
    enableInternalTransfer: bool = False
    permitsUniversalTransfer: bool = False
    enableReading: bool = True
    enableSpotAndMarginTrading: bool = False
    enableFutures: bool = False


class WireListenKey(Wire, frozen=True):
    listenKey: str


class WireLeverage(Wire, frozen=True):
    leverage: int
    symbol: str = ""
