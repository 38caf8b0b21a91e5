"""The last lines of the log file, optionally filtered by level or text."""

from __future__ import annotations

import os
import re
from pathlib import Path

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}
_LEVEL_WORD = re.compile(r"\b(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\b")
# Read at most this much from the end of the file per request (bounds a request's cost).
MAX_TAIL_BYTES = 4 * 1024 * 1024


def line_level(line: str) -> str | None:
    match = _LEVEL_WORD.search(line[:200])
    if match is None:
        return None
    word = match.group(1)
    return "WARNING" if word == "WARN" else word


def tail(path: Path, lines: int, min_level: str | None, contains: str | None) -> list[str]:
    """Up to ``lines`` newest lines at ``min_level`` or above (lines with no level are kept
    only without a level filter: they are tracebacks and continuation lines)."""
    try:
        size = path.stat().st_size
    except OSError:
        return []
    with path.open("rb") as handle:
        handle.seek(max(0, size - MAX_TAIL_BYTES), os.SEEK_SET)
        data = handle.read()
    text = data.decode("utf-8", errors="replace").splitlines()
    if size > MAX_TAIL_BYTES and text:
        text = text[1:]  # the first line is probably cut
    rank = _LEVEL_RANK[min_level] if min_level else None
    needle = contains.lower() if contains else None
    picked: list[str] = []
    for line in reversed(text):
        if rank is not None:
            level = line_level(line)
            if level is None or _LEVEL_RANK[level] < rank:
                continue
        if needle is not None and needle not in line.lower():
            continue
        picked.append(line)
        if len(picked) >= lines:
            break
    picked.reverse()
    return picked
