"""Dashboard sessions (cookie) and the login rate limiter; in memory, per app instance."""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

SESSION_COOKIE = "binbot_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_TTL_S = 12 * 3600
MAX_SESSIONS = 256


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    csrf_token: str
    expires_at: float

    @property
    def actor(self) -> str:
        # A short stable tag for audit logs; never the session id itself.
        return "session:" + self.session_id[:6]


class SessionStore:
    """Opaque random session ids mapped to their CSRF token and expiry."""

    def __init__(self, ttl_s: float = SESSION_TTL_S, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self._ttl = ttl_s
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def create(self) -> Session:
        self._expire()
        if len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions.values(), key=lambda s: s.expires_at)
            del self._sessions[oldest.session_id]
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                          self._clock() + self._ttl)
        self._sessions[session.session_id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if session.expires_at <= self._clock():
            del self._sessions[session_id]
            return None
        return session

    def drop(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[key]


class LoginLimiter:
    """At most ``attempts`` failed logins per client per ``window_s``; also a global ceiling."""

    def __init__(self, attempts: int = 10, window_s: float = 60.0, global_attempts: int = 100,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._attempts = attempts
        self._global_attempts = global_attempts
        self._window = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again (0 when it may now)."""
        now = self._clock()
        self._trim(self._all, now)
        failures = self._failures.get(client)
        if failures is not None:
            self._trim(failures, now)
            if len(failures) >= self._attempts:
                return failures[0] + self._window - now
        if len(self._all) >= self._global_attempts:
            return self._all[0] + self._window - now
        return 0.0

    def failed(self, client: str) -> None:
        now = self._clock()
        self._failures.setdefault(client, deque()).append(now)
        self._all.append(now)
        if len(self._failures) > 10_000:  # bounded memory under a spray of addresses
            self._failures.clear()

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)

    def _trim(self, times: deque[float], now: float) -> None:
        while times and times[0] + self._window <= now:
            times.popleft()
