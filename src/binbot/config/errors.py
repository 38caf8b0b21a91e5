"""Turn pydantic validation errors into messages a user can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError


def _key_path(location: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in location:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts) or "(top level)"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def explain_validation_error(error: ValidationError, source: Path | None) -> str:
    """One line per problem: key path, the bad value, and what is allowed."""
    where = str(source) if source is not None else "defaults and environment"
    lines = [f"invalid configuration ({where}), {error.error_count()} problem(s):"]
    for item in error.errors(include_url=False):
        key = _key_path(tuple(item["loc"]))
        kind = item["type"]
        if kind == "extra_forbidden":
            lines.append(f"  {key}: unknown key (value {_shown(item['input'])}); remove or fix it")
        elif kind == "missing":
            lines.append(f"  {key}: required but missing")
        else:
            lines.append(f"  {key}: {item['msg']}; was {_shown(item['input'])}")
    return "\n".join(lines)
