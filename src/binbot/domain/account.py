"""Account-side events of a live venue: balances, positions, user-stream health and alarms.

Order changes travel as ``OrderEvent`` (``binbot.domain.orders``); everything else a live
execution client learns about the account comes out as one of the types below.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from binbot.domain.market import Market

ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class Balance:
    """One asset: ``total`` (wallet) and ``available`` (free to trade or withdraw)."""

    asset: str
    total: Decimal
    available: Decimal


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """A USD-M position as the venue reports it. ``quantity`` is signed (short < 0)."""

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    unrealised_pnl: Decimal
    margin_type: str  # "isolated" or "cross"
    position_side: str  # "BOTH" in one-way mode
    break_even_price: Decimal = ZERO
    leverage: int | None = None
    mark_price: Decimal | None = None
    liquidation_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """Balances and positions changed (USD-M ``ACCOUNT_UPDATE``, spot
    ``outboundAccountPosition``). Only the assets and positions that changed are listed."""

    market: Market
    time: int
    reason: str
    balances: tuple[Balance, ...]
    positions: tuple[PositionSnapshot, ...] = ()


@dataclass(frozen=True, slots=True)
class BalanceDelta:
    """A deposit, withdrawal or transfer (spot ``balanceUpdate``): ``delta`` is signed."""

    market: Market
    time: int
    asset: str
    delta: Decimal


@dataclass(frozen=True, slots=True)
class UserStreamReconnected:
    """The user-data stream was (re)established after a break, a key renewal or a terminated
    subscription: events may have been missed, so the engine must reconcile over REST."""

    market: Market
    reason: str
    attempts: int = 1


class AlarmKind(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429: requests wait for Retry-After
    IP_BANNED = "ip_banned"  # 418: the engine should go HALTED
    CONFIG_FAULT = "config_fault"  # bad key, signature or permissions: fatal for trading
    ORDER_TYPE_DISABLED = "order_type_disabled"  # -4120: a code fault, that type is refused
    CLOCK = "clock"  # -1021 persisted after a resync
    UNSAFE_KEY = "unsafe_key"  # the API key can withdraw or transfer
    SETUP = "setup"  # leverage, margin type or position mode could not be set


@dataclass(frozen=True, slots=True)
class ExecutionAlarm:
    """Something the engine must act on (halt, alert); ``retry_after_s`` for 429/418."""

    market: Market
    time: int
    kind: AlarmKind
    reason: str
    retry_after_s: float | None = None

    @property
    def halts_trading(self) -> bool:
        return self.kind in (AlarmKind.IP_BANNED, AlarmKind.CONFIG_FAULT, AlarmKind.UNSAFE_KEY)


AccountEvent = AccountUpdate | BalanceDelta | UserStreamReconnected | ExecutionAlarm
