"""Sans-I/O decoding of user-data messages (USD-M ``/private`` and spot WS-API).

A message may be a raw event, a combined-stream wrapper ``{"stream", "data"}``, a WS-API
wrapper ``{"subscriptionId", "event"}`` or a WS-API reply ``{"id", "status", "result"}``.
Unknown event types decode to ``Unrecognised`` (counted by the caller), never to an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import msgspec

from binbot.adapters.binance import account_parsing as parse
from binbot.adapters.binance.wire_account import (
    WireAccountPosition,
    WireAccountUpdate,
    WireAlgoUpdate,
    WireBalanceUpdate,
    WireExecutionReport,
    WireListenKeyExpired,
    WireOrderTradeUpdate,
    WireTradeLite,
    WireUserEnvelope,
)
from binbot.domain.account import AccountUpdate, BalanceDelta


@dataclass(frozen=True, slots=True)
class ListenKeyExpired:
    time: int


@dataclass(frozen=True, slots=True)
class StreamTerminated:
    """Spot ``eventStreamTerminated``: the subscription ended; resubscribe and reconcile."""

    time: int


@dataclass(frozen=True, slots=True)
class Unrecognised:
    event_type: str


@dataclass(frozen=True, slots=True)
class WsApiReply:
    """A WS-API answer; ``error_code``/``error_msg`` are set when ``status`` is not 200."""

    id: str
    status: int
    result: bytes
    error_code: int | None = None
    error_msg: str = ""


UserItem = (
    parse.OrderReport
    | parse.AlgoReport
    | parse.TradeNotice
    | AccountUpdate
    | BalanceDelta
    | ListenKeyExpired
    | StreamTerminated
    | Unrecognised
    | WsApiReply
)

_envelope: Final = msgspec.json.Decoder(WireUserEnvelope)


class _WsError(msgspec.Struct, frozen=True):
    code: int | None = None
    msg: str = ""


def _decoder(kind: type[Any]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(kind)


_DECODERS: Final[dict[str, tuple[msgspec.json.Decoder[Any], Any]]] = {
    "ORDER_TRADE_UPDATE": (_decoder(WireOrderTradeUpdate), parse.futures_order_report),
    "TRADE_LITE": (_decoder(WireTradeLite), parse.trade_notice),
    "ACCOUNT_UPDATE": (_decoder(WireAccountUpdate), parse.futures_account_update),
    "ALGO_UPDATE": (_decoder(WireAlgoUpdate), parse.algo_report),
    "executionReport": (_decoder(WireExecutionReport), parse.spot_order_report),
    "outboundAccountPosition": (_decoder(WireAccountPosition), parse.spot_account_position),
    "balanceUpdate": (_decoder(WireBalanceUpdate), parse.spot_balance_delta),
}

_listen_key_expired: Final = msgspec.json.Decoder(WireListenKeyExpired)


def _time(value: int | str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def decode_user_message(message: bytes | str) -> UserItem | None:
    """Decode one socket message; None for messages without meaning to us (subscription acks
    without an id are never sent by Binance, but a bare ``{}`` is tolerated).

    Raises ``msgspec.DecodeError``/``ValidationError`` on malformed JSON or a known event
    type with missing fields: the caller logs it, counts it and reconciles.
    """
    envelope = _envelope.decode(message)
    if envelope.status is not None and envelope.id is not None:
        code, text = None, ""
        if len(envelope.error):
            error = msgspec.json.decode(envelope.error, type=_WsError)
            code, text = error.code, error.msg
        result = bytes(envelope.result)
        return WsApiReply(str(envelope.id), envelope.status, result, code, text)
    if len(envelope.event):
        return decode_user_event(bytes(envelope.event))
    if len(envelope.data):
        return decode_user_event(bytes(envelope.data))
    if envelope.e:
        return decode_user_event(message if isinstance(message, bytes) else message.encode())
    return None


def decode_user_event(raw: bytes) -> UserItem:
    """Decode an unwrapped event object by its ``e``."""
    kind = _envelope.decode(raw).e
    entry = _DECODERS.get(kind)
    if entry is not None:
        decoder, convert = entry
        item: UserItem = convert(decoder.decode(raw))
        return item
    if kind == "listenKeyExpired":
        return ListenKeyExpired(_time(_listen_key_expired.decode(raw).E))
    if kind == "eventStreamTerminated":
        return StreamTerminated(_time(_listen_key_expired.decode(raw).E))
    return Unrecognised(kind)
