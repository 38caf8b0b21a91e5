"""Logs, configuration (secrets masked) and server health."""

from __future__ import annotations

from asyncio import to_thread
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from binbot.api import log_tail, system_info
from binbot.api.deps import ContainerDep
from binbot.api.redaction import Scrubber, mask_config
from binbot.api.schemas.system import ConfigOut, LogLine, LogsOut, SystemOut
from binbot.storage.database import sqlite_path

router = APIRouter(prefix="/api/v1", tags=["operations"])

LevelQuery = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] | None,
                       Query(description="minimum level")]


@router.get("/logs", response_model=LogsOut)
async def logs(container: ContainerDep, lines: Annotated[int, Query(ge=1, le=2000)] = 200,
               level: LevelQuery = None,
               contains: Annotated[str | None, Query(max_length=100)] = None) -> LogsOut:
    """The newest log lines (secrets scrubbed), optionally at a minimum level."""
    path = container.log_file
    if path is None:
        return LogsOut(file=None, lines=[])
    raw = await to_thread(log_tail.tail, path, lines, level, contains)
    scrub = Scrubber(container.secret_values())
    return LogsOut(file=path.name, lines=[LogLine(line=scrub(line), level=log_tail.line_level(line))
                                          for line in raw])


@router.get("/config", response_model=ConfigOut)
async def config(container: ContainerDep) -> ConfigOut:
    """The effective configuration with every secret masked."""
    dumped = mask_config(container.settings.model_dump(mode="python"))
    return ConfigOut(config=dumped)


@router.get("/system", response_model=SystemOut)
async def system(request: Request, container: ContainerDep) -> SystemOut:
    """Host CPU, memory, disk, load and uptime; this process's memory, CPU and threads."""
    process = request.app.state.process
    return await to_thread(system_info.snapshot, container.settings.data_dir,
                           sqlite_path(container.engine), process)
