"""FastAPI dependencies: the container, the caller's identity, CSRF, typed shortcuts.

The dependencies are ``async def`` although they never await: FastAPI runs a plain ``def``
dependency in its thread pool, and two thread hand-offs per request (GIL, wake-ups) delayed the
bots' ticks on the shared event loop far more than these few microseconds of work.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket, status

from binbot.api.container import ApiContainer
from binbot.api.sessions import CSRF_HEADER, SESSION_COOKIE, Session, SessionStore

_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: a bearer-token client, a dashboard session, or anyone (auth off)."""

    actor: str
    session: Session | None = None


def container_of(request: Request) -> ApiContainer:
    container: ApiContainer = request.app.state.container
    return container


def sessions_of(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


async def get_container(request: Request) -> ApiContainer:
    return container_of(request)


async def get_sessions(request: Request) -> SessionStore:
    return sessions_of(request)


def bearer_matches(container: ApiContainer, header: str | None) -> bool:
    if container.token is None or not header:
        return False
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value:
        return False
    expected = container.token.get_secret_value().encode()
    return secrets.compare_digest(value.strip().encode(), expected)


def identify(request: Request) -> Caller | None:
    """The caller of ``request``, or ``None`` when it is not authenticated."""
    container = container_of(request)
    if container.token is None:
        return Caller("anonymous")
    if bearer_matches(container, request.headers.get("authorization")):
        return Caller("token")
    session = sessions_of(request).get(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        return Caller(session.actor, session)
    return None


async def require_auth(request: Request) -> Caller:
    """Router-level guard: 401 without a valid bearer token or session; CSRF on cookie writes."""
    caller = identify(request)
    if caller is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "authentication required",
                            headers={"WWW-Authenticate": "Bearer"})
    if caller.session is not None and request.method in _UNSAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not secrets.compare_digest(sent.encode(), caller.session.csrf_token.encode()):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")
    return caller


def websocket_container(websocket: WebSocket) -> ApiContainer:
    container: ApiContainer = websocket.app.state.container
    return container


ContainerDep = Annotated[ApiContainer, Depends(get_container)]
CallerDep = Annotated[Caller, Depends(require_auth)]
SessionsDep = Annotated[SessionStore, Depends(get_sessions)]
