"""The one classifier from a Binance answer to a domain error (protocol reference, section 7).

Whether something may be retried depends on whether the request could have changed state on the
exchange (a mutation): an ambiguous failure of a read is transient, of a mutation unknown.
"""

from __future__ import annotations

from enum import Enum, auto
from typing import Final

import msgspec

from binbot.domain.errors import (
    ConfigFault,
    ExchangeError,
    IPBanned,
    RateLimited,
    Rejected,
    TimestampError,
    TransientError,
    UnknownOutcome,
)

DEFAULT_RATE_LIMIT_WAIT_S: Final = 5.0
DEFAULT_BAN_WAIT_S: Final = 120.0


class Outcome(Enum):
    """What a failure means for the request, before choosing the error class."""

    RATE_LIMITED = auto()
    BANNED = auto()
    CLOCK = auto()
    CONFIG = auto()
    AMBIGUOUS = auto()  # may have executed: unknown for a mutation, transient for a read
    NOT_EXECUTED = auto()  # failed before execution: transient
    REJECTED = auto()


# Binance error code -> outcome. Codes not listed are definitive rejections.
CODE_OUTCOMES: Final[dict[int, Outcome]] = {
    -1003: Outcome.RATE_LIMITED,  # TOO_MANY_REQUESTS
    -1015: Outcome.RATE_LIMITED,  # TOO_MANY_ORDERS
    -1021: Outcome.CLOCK,  # INVALID_TIMESTAMP
    -5028: Outcome.CLOCK,  # USD-M: timestamp outside the matching engine's window
    -1002: Outcome.CONFIG,  # UNAUTHORIZED
    -1022: Outcome.CONFIG,  # INVALID_SIGNATURE
    -2014: Outcome.CONFIG,  # BAD_API_KEY_FMT
    -2015: Outcome.CONFIG,  # REJECTED_MBX_KEY (key, IP or permissions)
    -1006: Outcome.AMBIGUOUS,  # UNEXPECTED_RESP: execution status unknown
    -1007: Outcome.AMBIGUOUS,  # TIMEOUT: execution status unknown
    -1001: Outcome.NOT_EXECUTED,  # DISCONNECTED: internal error, unable to process
    -1008: Outcome.NOT_EXECUTED,  # USD-M system throttling: request refused
}

# HTTP status -> outcome, consulted when the code says nothing more specific.
STATUS_OUTCOMES: Final[dict[int, Outcome]] = {
    429: Outcome.RATE_LIMITED,
    418: Outcome.BANNED,
}

# USD-M 503 messages that say the request never reached execution.
NOT_EXECUTED_MESSAGES: Final[tuple[str, ...]] = (
    "Service Unavailable.",
    "Internal error; unable to process your request",
)


def outcome_of(status: int, code: int | None, message: str) -> Outcome:
    """Decide what the answer means (pure table lookup, then the 5xx rules)."""
    if status in STATUS_OUTCOMES:
        return STATUS_OUTCOMES[status]
    if code is not None and code in CODE_OUTCOMES:
        return CODE_OUTCOMES[code]
    if status >= 500:
        if any(message.startswith(prefix) for prefix in NOT_EXECUTED_MESSAGES):
            return Outcome.NOT_EXECUTED
        return Outcome.AMBIGUOUS
    return Outcome.REJECTED


def classify(
    status: int,
    code: int | None,
    message: str,
    *,
    mutation: bool,
    retry_after: float | None = None,
) -> ExchangeError:
    """Map an HTTP error answer to the domain error the caller should raise."""
    outcome = outcome_of(status, code, message)
    described = f"HTTP {status} code {code}: {message}"
    if outcome is Outcome.RATE_LIMITED:
        wait = retry_after if retry_after is not None else DEFAULT_RATE_LIMIT_WAIT_S
        return RateLimited(described, wait)
    if outcome is Outcome.BANNED:
        return IPBanned(described, retry_after if retry_after is not None else DEFAULT_BAN_WAIT_S)
    if outcome is Outcome.CLOCK:
        return TimestampError(described)
    if outcome is Outcome.CONFIG:
        return ConfigFault(code if code is not None else 0, message, status)
    if outcome is Outcome.AMBIGUOUS:
        return UnknownOutcome(described) if mutation else TransientError(described)
    if outcome is Outcome.NOT_EXECUTED:
        return TransientError(described)
    return Rejected(code if code is not None else 0, message, status)


def classify_network(error: BaseException, *, mutation: bool, sent: bool) -> ExchangeError:
    """A failure without an HTTP answer: unknown if a mutation may have been sent."""
    described = f"network failure: {type(error).__name__}: {error}"
    if mutation and sent:
        return UnknownOutcome(described)
    return TransientError(described)


class _ErrorBody(msgspec.Struct):
    code: int | None = None
    msg: str = ""


_error_decoder = msgspec.json.Decoder(_ErrorBody)


def parse_error_body(body: bytes) -> tuple[int | None, str]:
    """Read ``{"code": -1121, "msg": "..."}``; anything else (HTML, empty) keeps its text."""
    try:
        parsed = _error_decoder.decode(body)
    except msgspec.DecodeError:
        return None, body[:200].decode("utf-8", "replace").strip()
    return parsed.code, parsed.msg


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (Binance sends an integer); None when absent or malformed."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
