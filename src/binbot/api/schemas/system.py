"""Server health, logs, configuration, live-state snapshot."""

from __future__ import annotations

from typing import Any

from binbot.api.schemas.common import Out
from binbot.api.schemas.trading import (
    BotOut,
    OrderOut,
    PositionOut,
    SignalOut,
    StatusOut,
    TradeOut,
)


class HealthOut(Out):
    status: str
    version: str


class SystemOut(Out):
    hostname_hidden: bool = True
    cpu_percent: float
    cpu_count: int
    load_avg: list[float]
    memory_total: int
    memory_used: int
    memory_percent: float
    disk_total: int
    disk_used: int
    disk_percent: float
    boot_time_s: float
    system_uptime_s: float
    process_rss: int
    process_cpu_percent: float
    process_uptime_s: float
    process_threads: int
    db_size_bytes: int | None
    python: str


class LogLine(Out):
    line: str
    level: str | None


class LogsOut(Out):
    file: str | None
    lines: list[LogLine]


class ConfigOut(Out):
    config: dict[str, Any]


class StateOut(Out):
    last_seq: int
    status: StatusOut
    bots: list[BotOut]
    positions: list[PositionOut]
    open_orders: list[OrderOut]
    trades: list[TradeOut]
    signals: list[SignalOut]


class SessionOut(Out):
    csrf_token: str
    read_only: bool
    auth: bool
