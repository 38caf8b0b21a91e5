"""Binance API credentials: never in the main config, one key pair per kind of venue.

Looked up, first hit wins, in: the process environment, an explicit credentials file, the
systemd credential (``$CREDENTIALS_DIRECTORY/binbot.env``, see ``binbot.core.credentials``) and
``.env``. Files use the ``.env`` syntax. Names (``<P>`` is ``BINBOT_BINANCE`` for live keys and
``BINBOT_BINANCE_TESTNET`` for testnet/demo/local keys):

- ``<P>_API_KEY``: the key id (always);
- ``<P>_API_SECRET``: an HMAC secret, or
- ``<P>_PRIVATE_KEY_FILE``: an Ed25519 PKCS#8 PEM file (relative names are also looked up in
  ``$CREDENTIALS_DIRECTORY``), with ``<P>_PRIVATE_KEY_PASSWORD`` when it is encrypted.

Values are held as ``SecretStr``; ``repr`` never shows them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from dotenv import dotenv_values
from pydantic import SecretStr

from binbot.core.credentials import credential_env_file, credentials_directory

KeyKind = Literal["live", "testnet"]
PREFIX: Final[dict[KeyKind, str]] = {
    "live": "BINBOT_BINANCE",
    "testnet": "BINBOT_BINANCE_TESTNET",
}
LIVE_VENUES: Final = frozenset({"binance"})
TEST_VENUES: Final = frozenset({"testnet", "demo", "local"})


class CredentialsError(ValueError):
    """Credentials are missing, malformed or meant for another kind of venue."""


@dataclass(frozen=True, slots=True)
class BinanceCredentials:
    """An API key with either an HMAC secret or an Ed25519 private key (PEM)."""

    kind: KeyKind
    api_key: SecretStr
    secret: SecretStr | None = None
    private_key_pem: SecretStr | None = None
    private_key_password: SecretStr | None = None
    source: str = ""

    @property
    def key_type(self) -> str:
        return "ed25519" if self.private_key_pem is not None else "hmac"


def key_kind_for(mode: str, venue: str) -> KeyKind:
    """Which keys a bot in ``mode`` on ``venue`` uses; refuses live mode on a test venue and
    testnet mode on the real exchange."""
    if mode == "live":
        if venue not in LIVE_VENUES:
            raise CredentialsError(
                f"live mode needs the real exchange (venue 'binance'), was venue {venue!r}"
            )
        return "live"
    if mode == "testnet":
        if venue not in TEST_VENUES:
            raise CredentialsError(
                f"testnet mode needs a test venue ({', '.join(sorted(TEST_VENUES))}), "
                f"was venue {venue!r}"
            )
        return "testnet"
    raise CredentialsError(f"mode {mode!r} uses no API credentials")


def _read_env_file(path: Path | None) -> dict[str, str]:
    if path is None or not path.is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load_credentials(
    kind: KeyKind,
    *,
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = Path(".env"),
    credentials_file: Path | None = None,
) -> BinanceCredentials:
    """Find the ``kind`` keys; raise ``CredentialsError`` naming what is missing."""
    env = os.environ if environ is None else environ
    if credentials_file is not None and not credentials_file.is_file():
        raise CredentialsError(f"credentials file not found: {credentials_file}")
    systemd = credential_env_file(env)
    layers: list[tuple[str, Mapping[str, str]]] = [
        ("environment", env),
        (str(credentials_file), _read_env_file(credentials_file)),
        (str(systemd), _read_env_file(systemd)),
        (str(env_file), _read_env_file(env_file)),
    ]
    prefix = PREFIX[kind]

    def lookup(name: str) -> tuple[str, str] | None:
        for source, values in layers:
            value = values.get(f"{prefix}_{name}", "").strip()
            if value:
                return value, source
        return None

    where = "the environment, .env, a credentials file or $CREDENTIALS_DIRECTORY/binbot.env"
    key = lookup("API_KEY")
    secret = lookup("API_SECRET")
    pem_file = lookup("PRIVATE_KEY_FILE")
    if key is None:
        raise CredentialsError(
            f"no Binance {kind} API key: set {prefix}_API_KEY and either {prefix}_API_SECRET "
            f"(HMAC) or {prefix}_PRIVATE_KEY_FILE (Ed25519) in {where}"
        )
    if pem_file is None:
        if secret is None:
            raise CredentialsError(
                f"Binance {kind} API key found ({key[1]}) but no secret: set "
                f"{prefix}_API_SECRET (HMAC) or {prefix}_PRIVATE_KEY_FILE (Ed25519) in {where}"
            )
        return BinanceCredentials(kind, SecretStr(key[0]), secret=SecretStr(secret[0]),
                                  source=key[1])
    if secret is not None:
        raise CredentialsError(
            f"both {prefix}_API_SECRET and {prefix}_PRIVATE_KEY_FILE are set; keep one"
        )
    pem = _read_pem(Path(pem_file[0]), env, f"{prefix}_PRIVATE_KEY_FILE")
    password = lookup("PRIVATE_KEY_PASSWORD")
    return BinanceCredentials(
        kind, SecretStr(key[0]), private_key_pem=SecretStr(pem),
        private_key_password=SecretStr(password[0]) if password else None, source=key[1],
    )


def _read_pem(path: Path, env: Mapping[str, str], name: str) -> str:
    candidates = [path]
    directory = credentials_directory(env)
    if directory is not None and not path.is_absolute():
        candidates.insert(0, directory / path)
    for candidate in candidates:
        if candidate.is_file():
            text = candidate.read_text(encoding="ascii", errors="replace")
            if "PRIVATE KEY-----" not in text:
                raise CredentialsError(f"{name} ({candidate}) is not a PEM private key")
            return text
    raise CredentialsError(f"{name} points to a missing file: {path}")
