"""Containment of strategy exceptions.

User code fails; the bot must not. Every hook call goes through ``HookGuard``: an exception is
logged with its traceback on the strategy's logger, reported to the engine, and counted; after
``max_consecutive_errors`` failures in a row (default 5) the guard trips and the engine pauses
the bot. Any successful hook call resets the count.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

DEFAULT_MAX_CONSECUTIVE_ERRORS: Final = 5


@dataclass(frozen=True, slots=True)
class StrategyFailure:
    """One exception raised by a strategy hook."""

    hook: str
    error: str
    traceback: str
    consecutive: int


class HookGuard:
    """Counts consecutive hook failures and trips after ``max_consecutive_errors``."""

    __slots__ = ("_logger", "_max", "_on_failure", "_on_trip", "errors")

    def __init__(
        self,
        logger: logging.Logger,
        *,
        max_consecutive_errors: int = DEFAULT_MAX_CONSECUTIVE_ERRORS,
        on_failure: Callable[[StrategyFailure], None] | None = None,
        on_trip: Callable[[str], None] | None = None,
    ) -> None:
        if max_consecutive_errors < 1:
            raise ValueError(f"max_consecutive_errors must be >= 1, was {max_consecutive_errors}")
        self._logger = logger
        self._max = max_consecutive_errors
        self._on_failure = on_failure
        self._on_trip = on_trip
        self.errors = 0

    @property
    def max_consecutive_errors(self) -> int:
        return self._max

    def failed(self, hook: str, error: BaseException) -> None:
        """Record an exception raised by ``hook`` (call from an ``except`` block)."""
        self.errors += 1
        text = "".join(traceback.format_exception(error))
        self._logger.error("strategy hook %s failed (%d in a row): %s\n%s", hook, self.errors,
                           error, text)
        if self._on_failure is not None:
            self._on_failure(StrategyFailure(hook, repr(error), text, self.errors))
        if self.errors >= self._max and self._on_trip is not None:
            self._on_trip(f"{self.errors} consecutive strategy errors, last in {hook}: {error!r}")

    def succeeded(self) -> None:
        self.errors = 0
