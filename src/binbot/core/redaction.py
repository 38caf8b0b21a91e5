"""Masking of secrets in text bound for logs: known secret values plus shapes that are always
secret on Binance (request signatures, listenKeys, API key headers, bearer tokens)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, SecretStr

MASK: Final = "********"
# Shorter values would mask ordinary words; real secrets are far longer.
MIN_SECRET_LENGTH: Final = 6

# key=value in query strings and form bodies ("signature=ab12...&"), quoted values in JSON and
# reprs ({"listenKey": "..."}, token='...'), and the API key header. The key stays readable; only
# the value is masked.
_HIDDEN: Final = (
    r"signature|listenKey|listen_key|apiKey|api_key|api-key|X-MBX-APIKEY|secret|secretKey"
    r"|password|passwd|token|access_token|refresh_token|private_key"
)
_QUERY_VALUE: Final = re.compile(rf"(?i)\b({_HIDDEN})(\s*=\s*)(?![\"'])([^\s&\"',;)]+)")
_QUOTED_VALUE: Final = re.compile(rf"(?i)([\"']?\b(?:{_HIDDEN})[\"']?\s*[:=]\s*[\"'])([^\"']+)")
_HEADER_VALUE: Final = re.compile(r"(?i)\b(X-MBX-APIKEY\s*:\s*)([^\s\"',;]+)")
_BEARER: Final = re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/=-]+)")
# user:password@host in URLs (database URLs in connection errors).
_URL_PASSWORD: Final = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s]+)(@)")


class Redactor:
    """Replaces every known secret value and every secret-shaped token with ``MASK``.

    Secret values can be added while running (a listenKey obtained after start), so the set is
    guarded by a lock and the compiled pattern is swapped atomically.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Mask these values from now on (too-short or empty values are ignored)."""
        with self._lock:
            for secret in secrets:
                for variant in _variants(secret):
                    if len(variant) >= MIN_SECRET_LENGTH:
                        self._values.add(variant)
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def redact(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        text = _QUERY_VALUE.sub(lambda m: f"{m[1]}{m[2]}{_masked(m[3])}", text)
        text = _QUOTED_VALUE.sub(lambda m: f"{m[1]}{_masked(m[2])}", text)
        text = _HEADER_VALUE.sub(lambda m: f"{m[1]}{_masked(m[2])}", text)
        text = _BEARER.sub(lambda m: f"{m[1]}{_masked(m[2])}", text)
        return _URL_PASSWORD.sub(lambda m: f"{m[1]}{_masked(m[2])}{m[3]}", text)


def _masked(value: str) -> str:
    # A value that is already the mask stays as it is (redaction must be idempotent).
    return value if value == MASK else MASK


def _variants(secret: str) -> set[str]:
    """The forms a secret takes in text: as is, URL-encoded, and a URL's password part."""
    value = secret.strip()
    if not value:
        return set()
    found = {value, quote(value, safe="")}
    if "://" in value:
        try:
            password = urlsplit(value).password
        except ValueError:
            password = None
        if password:
            found.add(password)
    return found


def collect_secrets(model: BaseModel) -> list[str]:
    """Every ``SecretStr`` value in a settings tree (nested sections, lists, dicts)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                walk(item)

    walk(model)
    return [secret for secret in found if secret]
