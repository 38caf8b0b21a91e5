"""Secrets never leave the API: masked config, scrubbed log lines."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr

MASK = "********"
# Keys whose values are secret whatever their type (a plain str that slipped past SecretStr).
_SECRET_KEY = re.compile(r"(token|secret|password|passwd|api_key|private|listen_?key|signature)",
                         re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@", re.IGNORECASE)


def mask_config(value: Any, key: str = "") -> Any:
    """A JSON-able copy of a ``model_dump(mode="python")`` tree with every secret masked."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, dict):
        return {k: mask_config(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_config(item, key) for item in value]
    if isinstance(value, str):
        if value and _SECRET_KEY.search(key):
            return MASK
        return _URL_PASSWORD.sub(lambda m: m.group("scheme") + MASK + "@", value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


class Scrubber:
    """Replaces known secret values (and passwords inside URLs) in free text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(v) for v in values)) if values else None

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return _URL_PASSWORD.sub(lambda m: m.group("scheme") + MASK + "@", text)
