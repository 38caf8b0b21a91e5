"""``binbot serve``: the API and dashboard, read-only, over an existing database."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from pydantic import ValidationError

from binbot.cli.common import CommandError, settings_from_args
from binbot.config.settings import ApiSettings, Settings
from binbot.core.logging import LoggingSetup

log = logging.getLogger(__name__)


def _with_bind(settings: Settings, host: str | None, port: int | None) -> Settings:
    if host is None and port is None:
        return settings
    api = settings.api.model_dump()
    if host is not None:
        api["host"] = host
    if port is not None:
        api["port"] = port
    try:
        checked = ApiSettings.model_validate(api)  # re-runs the public-bind refusal
    except ValidationError as e:
        raise CommandError("; ".join(err["msg"] for err in e.errors())) from None
    return settings.model_copy(update={"api": checked})


async def _serve(settings: Settings, feed: bool, setup: LoggingSetup) -> None:
    import uvicorn

    from binbot.api import build_container, create_app
    from binbot.api.app import InsecureApiConfig
    from binbot.api.token_store import TOKEN_FILE, InsecureToken
    from binbot.core.event_bus import EventBus
    from binbot.storage.database import make_engine, sqlite_path
    from binbot.storage.migrate import SchemaTooNew, upgrade

    engine = make_engine(settings.database_url)
    db_file = sqlite_path(engine)
    if db_file is not None and not db_file.exists():
        raise CommandError(f"no database at {db_file}; run `binbot run` or import data first")
    try:
        await asyncio.to_thread(upgrade, engine)
        container = build_container(settings, engine, EventBus(), None, db_feed=feed)
        if container.token is not None:
            setup.add_secrets(container.token.get_secret_value())
        app = create_app(container)
    except (SchemaTooNew, InsecureToken, InsecureApiConfig) as e:
        raise CommandError(str(e)) from None
    where = "config api.token" if settings.api.token else str(settings.data_dir / TOKEN_FILE)
    host = settings.api.host
    shown = f"[{host}]" if ":" in host else host
    log.info("dashboard (read-only) on http://%s:%d/ ; token in %s", shown, settings.api.port,
             where)
    config = uvicorn.Config(app, host=host, port=settings.api.port, loop="asyncio",
                            log_config=None, access_log=False, server_header=False,
                            proxy_headers=False)
    try:
        await uvicorn.Server(config).serve()
    finally:
        engine.dispose()


def _run(args: argparse.Namespace) -> int:
    from binbot.core.logging import setup_logging
    from binbot.core.redaction import collect_secrets

    settings = _with_bind(settings_from_args(args), args.host, args.port)
    setup = setup_logging(settings.logging, settings.data_dir, collect_secrets(settings))
    try:
        asyncio.run(_serve(settings, feed=not args.no_feed, setup=setup))
    finally:
        setup.close()
    return 0


def register(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    serve = subparsers.add_parser(
        "serve", parents=[parent],
        help="serve the dashboard and REST API read-only over an existing database")
    serve.add_argument("--host", default=None, help="bind address (default: api.host)")
    serve.add_argument("--port", type=int, default=None, help="port (default: api.port)")
    serve.add_argument("--no-feed", action="store_true",
                       help="do not poll the database for live updates")
    serve.set_defaults(func=_run)
