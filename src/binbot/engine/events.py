"""Events a bot emits for the outside world (storage, API, dashboard).

``IntentCreated`` comes before the order is handed to the execution client: a live service must
commit it before the send goes out (reliability.md §1 rule 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from binbot.domain.fills import Fill
from binbot.domain.orders import Order, OrderIntent
from binbot.domain.positions import TradeRecord
from binbot.strategy.safe import StrategyFailure


@dataclass(frozen=True, slots=True)
class IntentCreated:
    bot_id: str
    intent: OrderIntent


@dataclass(frozen=True, slots=True)
class OrderUpdated:
    """An order changed; ``order`` is a copy taken at that moment (``to_dict`` to persist)."""

    bot_id: str
    time: int
    order: Order


@dataclass(frozen=True, slots=True)
class FillRecorded:
    bot_id: str
    fill: Fill
    trades: tuple[TradeRecord, ...]


@dataclass(frozen=True, slots=True)
class StrategyErrored:
    bot_id: str
    time: int
    failure: StrategyFailure


@dataclass(frozen=True, slots=True)
class StatusChanged:
    bot_id: str
    time: int
    status: str
    reason: str


BotEvent = IntentCreated | OrderUpdated | FillRecorded | StrategyErrored | StatusChanged
BotEventSink = Callable[[BotEvent], None]
