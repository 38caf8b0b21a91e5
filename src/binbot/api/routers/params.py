"""Validated query parameters shared by routers (bad values answer 422 with the reason)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query

from binbot.domain.market import INTERVALS

BOT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
SYMBOL_PATTERN = r"^[A-Z0-9]{2,20}$"
INTERVAL_PATTERN = "^(" + "|".join(INTERVALS) + ")$"
MAX_MS = 32_503_680_000_000  # year 3000: anything later is a unit mistake (µs or ns)

BotIdPath = Annotated[str, Path(pattern=BOT_ID_PATTERN, description="bot id")]
BotIdQuery = Annotated[str | None, Query(pattern=BOT_ID_PATTERN, description="only this bot")]
SymbolQuery = Annotated[str | None, Query(pattern=SYMBOL_PATTERN, description="e.g. BTCUSDT")]
SymbolRequired = Annotated[str, Query(pattern=SYMBOL_PATTERN, description="e.g. BTCUSDT")]
MarketQuery = Annotated[Literal["usdm", "spot"], Query(description="usdm or spot")]
IntervalQuery = Annotated[str, Query(pattern=INTERVAL_PATTERN,
                                     description="one of " + ", ".join(INTERVALS))]
FromMs = Annotated[int | None, Query(ge=0, le=MAX_MS, description="epoch ms, inclusive")]
ToMs = Annotated[int | None, Query(ge=0, le=MAX_MS, description="epoch ms, inclusive")]
BeforeMs = Annotated[int | None, Query(ge=0, le=MAX_MS, description="older than, epoch ms")]
Limit = Annotated[int, Query(ge=1, le=1000, description="rows per page")]
