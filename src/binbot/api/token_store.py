"""The API token: from the config, or generated once into ``<data_dir>/api_token`` (mode 0600)."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from pydantic import SecretStr

from binbot.config.settings import Settings

log = logging.getLogger(__name__)

TOKEN_FILE = "api_token"  # noqa: S105 - a file name
MIN_TOKEN_LENGTH = 16
# Values people paste from examples; a token equal to one of them is refused.
_KNOWN_DEFAULTS = frozenset({"changeme", "change-me", "secret", "super-secret", "password",
                             "binbot", "token", "admin"})


class InsecureToken(ValueError):
    """The configured token is empty, short or a known default."""


def check_token(value: str) -> str:
    if len(value) < MIN_TOKEN_LENGTH or value.lower() in _KNOWN_DEFAULTS:
        raise InsecureToken(
            f"api.token must be at least {MIN_TOKEN_LENGTH} characters and not a default value; "
            f"remove it to have one generated into <data_dir>/{TOKEN_FILE}"
        )
    return value


def ensure_api_token(settings: Settings) -> SecretStr:
    """The configured token, else the one stored in the data dir, else a new one stored there."""
    configured = settings.api.token
    if configured is not None and configured.get_secret_value():
        return SecretStr(check_token(configured.get_secret_value()))
    return SecretStr(_stored_token(settings.data_dir / TOKEN_FILE))


def _stored_token(path: Path) -> str:
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            # Readable by others: tighten rather than keep serving a leaked-looking file.
            log.warning("tightening permissions of %s from %o to 600", path, mode)
            path.chmod(0o600)
        return check_token(path.read_text(encoding="utf-8").strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    log.info("generated an API token in %s (mode 600)", path)
    return token
