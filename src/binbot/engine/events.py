"""Events a bot emits for the outside world (storage, API, dashboard).

``IntentCreated`` comes before the order is handed to the execution client: a live service must
commit it before the send goes out (reliability.md §1 rule 1). ``RiskRejected`` reports an
order the risk gate refused (the order itself then follows as REJECTED in ``OrderUpdated``);
``RiskTriggered`` reports a limit the engine enforced on its own (an exit, a daily block, the
kill switch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from binbot.domain.fills import Fill
from binbot.domain.orders import Order, OrderIntent
from binbot.domain.positions import TradeRecord
from binbot.domain.values import fast_init
from binbot.strategy.safe import StrategyFailure


@fast_init
@dataclass(frozen=True, slots=True)
class IntentCreated:
    bot_id: str
    intent: OrderIntent


@fast_init
@dataclass(frozen=True, slots=True)
class OrderUpdated:
    """An order changed; ``order`` is a copy taken at that moment (``to_dict`` to persist)."""

    bot_id: str
    time: int
    order: Order


@fast_init
@dataclass(frozen=True, slots=True)
class FillRecorded:
    bot_id: str
    fill: Fill
    trades: tuple[TradeRecord, ...]


@fast_init
@dataclass(frozen=True, slots=True)
class StrategyErrored:
    bot_id: str
    time: int
    failure: StrategyFailure


@fast_init
@dataclass(frozen=True, slots=True)
class StatusChanged:
    bot_id: str
    time: int
    status: str
    reason: str


@fast_init
@dataclass(frozen=True, slots=True)
class RiskRejected:
    """The risk gate refused ``intent``: ``rule`` names the check (``binbot.engine.risk``)."""

    bot_id: str
    time: int
    intent: OrderIntent
    rule: str
    reason: str


@fast_init
@dataclass(frozen=True, slots=True)
class RiskTriggered:
    """A price-driven limit fired. ``rule``: stop_loss, take_profit, trailing_stop,
    daily_target, daily_loss, max_drawdown or kill_switch (the operator's); ``action``: exit,
    block (no new positions for the rest of the UTC day) or halt (the kill switch)."""

    bot_id: str
    time: int
    rule: str
    action: str
    reason: str


BotEvent = (IntentCreated | OrderUpdated | FillRecorded | StrategyErrored | StatusChanged
            | RiskRejected | RiskTriggered)
BotEventSink = Callable[[BotEvent], None]
