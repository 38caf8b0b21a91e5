"""Liveness; the only data route without authentication (it reveals nothing)."""

from __future__ import annotations

from fastapi import APIRouter

from binbot import __version__
from binbot.api.schemas.system import HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
@router.get("/api/v1/health", response_model=HealthOut)
async def health() -> HealthOut:
    return HealthOut(status="ok", version=__version__)
