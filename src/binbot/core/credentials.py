"""Secrets delivered by systemd (``LoadCredential=``).

The unit loads ``/etc/binbot/credentials/binbot.env`` as the credential ``binbot.env``; systemd
copies it into ``$CREDENTIALS_DIRECTORY``, readable only by the service user and never part of
the environment. The file uses the ``.env`` syntax (``BINBOT_SECTION__KEY=value``), so the
config loader reads it exactly like a ``.env`` file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

CREDENTIALS_ENV: Final = "CREDENTIALS_DIRECTORY"
CREDENTIAL_NAME: Final = "binbot.env"


def credentials_directory(environ: Mapping[str, str] | None = None) -> Path | None:
    """The directory systemd put this unit's credentials in, if running under one."""
    value = (os.environ if environ is None else environ).get(CREDENTIALS_ENV, "")
    return Path(value) if value else None


def credential_env_file(
    environ: Mapping[str, str] | None = None, default: Path | None = None
) -> Path | None:
    """The dotenv file of secrets to load: the systemd credential when present, else ``default``
    (e.g. ``Path(".env")``)."""
    directory = credentials_directory(environ)
    if directory is not None:
        candidate = directory / CREDENTIAL_NAME
        if candidate.is_file():
            return candidate
    return default
