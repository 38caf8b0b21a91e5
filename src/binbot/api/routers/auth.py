"""Dashboard login: the API token exchanged for an HttpOnly, SameSite=Strict session cookie."""

from __future__ import annotations

import logging
import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import Field

from binbot.api.deps import CallerDep, ContainerDep, SessionsDep
from binbot.api.schemas.common import Accepted, In
from binbot.api.schemas.system import SessionOut
from binbot.api.sessions import SESSION_COOKIE, SESSION_TTL_S, LoginLimiter

log = logging.getLogger("binbot.audit")
router = APIRouter(prefix="/api/v1", tags=["auth"])


class LoginIn(In):
    token: str = Field(min_length=1, max_length=512)


async def _limiter(request: Request) -> LoginLimiter:
    limiter: LoginLimiter = request.app.state.login_limiter
    return limiter


LimiterDep = Annotated[LoginLimiter, Depends(_limiter)]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/login", response_model=SessionOut)
async def login(body: LoginIn, request: Request, response: Response, container: ContainerDep,
                sessions: SessionsDep, limiter: LimiterDep) -> SessionOut:
    """Exchange the API token for a dashboard session (cookie) and its CSRF token."""
    client = _client(request)
    wait = limiter.retry_after(client)
    if wait > 0:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            "too many failed logins; try again later",
                            headers={"Retry-After": str(math.ceil(wait))})
    expected = container.token.get_secret_value() if container.token is not None else ""
    if container.token is not None and not secrets.compare_digest(body.token.encode(),
                                                                  expected.encode()):
        limiter.failed(client)
        log.warning("failed dashboard login from %s", client)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong token")
    limiter.succeeded(client)
    session = sessions.create()
    response.set_cookie(SESSION_COOKIE, session.session_id, max_age=SESSION_TTL_S, path="/",
                        httponly=True, samesite="strict",
                        secure=container.secure_cookies or request.url.scheme == "https")
    log.info("dashboard login from %s as %s", client, session.actor)
    return SessionOut(csrf_token=session.csrf_token, read_only=container.read_only,
                      auth=container.token is not None)


@router.get("/session", response_model=SessionOut)
async def session_info(caller: CallerDep, container: ContainerDep) -> SessionOut:
    """The CSRF token the page sends as ``X-CSRF-Token`` on every POST."""
    return SessionOut(csrf_token=caller.session.csrf_token if caller.session else "",
                      read_only=container.read_only, auth=container.token is not None)


@router.post("/logout", response_model=Accepted)
async def logout(caller: CallerDep, response: Response, sessions: SessionsDep) -> Accepted:
    if caller.session is not None:
        sessions.drop(caller.session.session_id)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return Accepted()
