"""Everything the API reads from: settings, database, event bus, the optional live runtime."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import Engine

from binbot.api.read_cache import ReadCache
from binbot.api.token_store import ensure_api_token
from binbot.config.settings import Settings
from binbot.core.event_bus import EventBus
from binbot.core.logging import log_file_path
from binbot.services.runtime import Runtime


@dataclass(frozen=True, slots=True)
class ApiContainer:
    """The API's dependencies, passed explicitly (no globals).

    ``runtime`` is ``None`` for ``binbot serve``: the API then reads the database only and every
    control answers 409. ``token`` is the resolved API token (``None`` only with auth off).
    ``db_feed`` makes the app publish a ``tick`` each second and the rows that appear in the
    database to the bus; ``binbot run`` may turn it off when its engine publishes them itself.
    """

    settings: Settings
    engine: Engine
    bus: EventBus
    runtime: Runtime | None
    token: SecretStr | None
    log_file: Path | None = None
    started_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    db_feed: bool = True
    trusted_hosts: tuple[str, ...] | None = None
    secure_cookies: bool = False
    extra_secrets: tuple[str, ...] = ()
    # Read endpoints' shared cache; built by ``build_container`` from ``api.read_cache_s`` (off
    # when the container is assembled by hand, e.g. in tests).
    reads: ReadCache = field(default_factory=lambda: ReadCache(0.0))

    @property
    def read_only(self) -> bool:
        return self.runtime is None

    def secret_values(self) -> tuple[str, ...]:
        """Every secret value the API must never emit (used to scrub logs and responses)."""
        values: list[str] = list(self.extra_secrets)
        if self.token is not None:
            values.append(self.token.get_secret_value())
        if self.settings.api.token is not None:
            values.append(self.settings.api.token.get_secret_value())
        url = self.settings.database.url
        if url is not None and url.get_secret_value():
            values.append(url.get_secret_value())
            from sqlalchemy.engine import make_url

            try:
                password = make_url(url.get_secret_value()).password
            except Exception:  # a malformed URL simply has no password to hide
                password = None
            if password:
                values.append(str(password))
        return tuple(sorted({v for v in values if len(v) >= 4}, key=len, reverse=True))


def build_container(
    settings: Settings,
    engine: Engine,
    bus: EventBus,
    runtime: Runtime | None,
    *,
    log_file: Path | None = None,
    db_feed: bool = True,
) -> ApiContainer:
    """Resolve the API token (from config, or generated once into the data dir) and assemble."""
    token = ensure_api_token(settings) if settings.api.auth else None
    if log_file is None:
        log_file = log_file_path(settings.logging, settings.data_dir)
    return ApiContainer(settings=settings, engine=engine, bus=bus, runtime=runtime, token=token,
                        log_file=log_file, db_feed=db_feed,
                        reads=ReadCache(settings.api.read_cache_s))
