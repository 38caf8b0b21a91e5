"""The engine: ``BotCore`` (strategy + candles + portfolio + risk gate, no I/O).

Public API: ``BotCore``, ``BotStatus``, ``Portfolio``, ``RiskGate``, ``RiskLimits`` (with
``RiskLimits.from_dict`` raising ``RiskLimitsError``), ``RiskMonitor``, ``TradingState`` and the
bot events in ``binbot.engine.events`` (``RiskRejected``, ``RiskTriggered`` among them).
"""

from binbot.engine.bot import BotCore, BotStatus
from binbot.engine.portfolio import Portfolio
from binbot.engine.risk import (
    Rejection,
    RiskGate,
    RiskInput,
    RiskLimits,
    RiskLimitsError,
    TradingState,
)
from binbot.engine.risk_monitor import RiskAction, RiskMonitor

__all__ = [
    "BotCore",
    "BotStatus",
    "Portfolio",
    "Rejection",
    "RiskAction",
    "RiskGate",
    "RiskInput",
    "RiskLimits",
    "RiskLimitsError",
    "RiskMonitor",
    "TradingState",
]
