"""``create_app``: the FastAPI application over an ``ApiContainer``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psutil
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import Scope

from binbot import __version__
from binbot.api.backtest_jobs import BacktestRunner
from binbot.api.cached_responses import CachedReads
from binbot.api.container import ApiContainer
from binbot.api.db_feed import DbFeed
from binbot.api.deps import identify, require_auth
from binbot.api.idempotency import IdempotencyCache
from binbot.api.middleware import BodyLimit, SecurityHeaders
from binbot.api.read_cache import ForgetReadsOnWrites
from binbot.api.routers import (
    auth,
    backtests,
    bots,
    controls,
    health,
    live,
    market,
    ops,
    trading,
    web,
)
from binbot.api.sessions import LoginLimiter, SessionStore

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
_WILDCARD_BINDS = ("0.0.0.0", "::", "")  # noqa: S104 - names, not a bind


class InsecureApiConfig(ValueError):
    """The API would start exposed without authentication."""


def check_bind(container: ApiContainer) -> None:
    """Refuse a non-loopback bind with authentication off (the settings check it too)."""
    api = container.settings.api
    loopback = api.host in ("127.0.0.1", "::1", "localhost")
    if not loopback and (not api.auth or container.token is None):
        raise InsecureApiConfig(f"refusing to serve on {api.host} with authentication off")


def trusted_hosts(container: ApiContainer) -> list[str]:
    if container.trusted_hosts is not None:
        return list(container.trusted_hosts)
    host = container.settings.api.host
    if host in _WILDCARD_BINDS:
        # Any name may reach a wildcard bind; the token still guards every route.
        log.warning("API bound to %r: Host header not restricted", host)
        return ["*"]
    return sorted({*LOOPBACK_HOSTS, host})


def _validation_handler(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        return _internal_error(_request, exc)
    # Echo where and why, never the submitted value (it may be a token typed in the wrong box).
    errors = [{"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", "")),
               "type": str(e.get("type", ""))} for e in exc.errors()]
    reasons = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
    return JSONResponse({"detail": reasons or "invalid request", "errors": errors},
                        status_code=422)


def _internal_error(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled API error: %s", type(exc).__name__, exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def _may_read(scope: Scope) -> bool:
    """``require_auth`` for a GET (no CSRF check applies), on a raw ASGI scope."""
    return identify(Request(scope)) is not None


def create_app(container: ApiContainer) -> FastAPI:
    """The API and dashboard. Starts the database feed (if enabled) while it runs."""
    check_bind(container)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(DbFeed(container).run()) if container.db_feed else None
        try:
            yield
        finally:
            _app.state.backtests.close()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(title="binbot", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.container = container
    app.state.sessions = SessionStore()
    app.state.login_limiter = LoginLimiter()
    app.state.idempotency = IdempotencyCache()
    app.state.pages = web.load_pages()
    app.state.process = psutil.Process()
    app.state.backtests = BacktestRunner()

    guarded = [Depends(require_auth)]
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(web.router)
    # bots first: its /bots/health and /bots/portfolio/... must win over /bots/{bot_id}.
    for module in (bots, trading, market, ops, backtests, controls, live):
        app.include_router(module.router, dependencies=guarded)
    app.include_router(live.ws_router)  # authenticates inside (header or first message)
    app.mount("/static", StaticFiles(packages=[("binbot.api", "web/static")]), name="static")

    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(Exception, _internal_error)

    # Added last = outermost: host check first, then size limit, CORS, headers, cached reads
    # (kept as compressed, so outside compression), compression.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(CachedReads, reads=container.reads, authenticated=_may_read)
    app.add_middleware(ForgetReadsOnWrites, reads=container.reads)
    app.add_middleware(SecurityHeaders)
    origins = list(container.settings.api.cors_origins)
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=False,
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key"])
    app.add_middleware(BodyLimit)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=trusted_hosts(container))
    return app
