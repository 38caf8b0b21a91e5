from __future__ import annotations

import pytest

from binbot.adapters.binance.errors import (
    classify,
    classify_network,
    parse_error_body,
    parse_retry_after,
)
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

UNKNOWN_503 = "Unknown error, please check your request or try again later."

# (status, code, message, mutation) -> expected class
TABLE: list[tuple[int, int | None, str, bool, type[ExchangeError]]] = [
    (429, -1003, "Too many requests", False, RateLimited),
    (429, -1015, "Too many new orders", True, RateLimited),
    (418, -1003, "Way too many requests; IP banned", False, IPBanned),
    (400, -1021, "Timestamp for this request is outside of the recvWindow.", True, TimestampError),
    (400, -5028, "Timestamp outside the matching engine window", True, TimestampError),
    (400, -1022, "Signature for this request is not valid.", True, ConfigFault),
    (401, -2014, "API-key format invalid.", False, ConfigFault),
    (401, -2015, "Invalid API-key, IP, or permissions for action.", False, ConfigFault),
    (400, -1002, "You are not authorized", False, ConfigFault),
    (500, None, "Internal Server Error", True, UnknownOutcome),
    (500, None, "Internal Server Error", False, TransientError),
    (400, -1007, "Timeout waiting for response from backend server.", True, UnknownOutcome),
    (400, -1007, "Timeout waiting for response from backend server.", False, TransientError),
    (400, -1006, "An unexpected response was received", True, UnknownOutcome),
    (503, -1000, UNKNOWN_503, True, UnknownOutcome),
    (503, -1000, UNKNOWN_503, False, TransientError),
    (503, None, "Service Unavailable.", True, TransientError),
    (503, -1001, "Internal error; unable to process your request. Please try again.", True,
     TransientError),
    (400, -1001, "Internal error; unable to process your request.", True, TransientError),
    (400, -1013, "Filter failure: LOT_SIZE", True, Rejected),
    (400, -1111, "Precision is over the maximum defined for this asset.", True, Rejected),
    (400, -2010, "Account has insufficient balance for requested action.", True, Rejected),
    (400, -4120, "Order type not supported for this endpoint.", True, Rejected),
    (400, -1121, "Invalid symbol.", False, Rejected),
    (403, None, "<html>WAF</html>", False, Rejected),
]


@pytest.mark.parametrize(("status", "code", "message", "mutation", "expected"), TABLE)
def test_classifier_table(
    status: int, code: int | None, message: str, mutation: bool, expected: type[ExchangeError]
) -> None:
    error = classify(status, code, message, mutation=mutation, retry_after=7)
    assert type(error) is expected


def test_rate_limit_and_ban_carry_retry_after() -> None:
    limited = classify(429, -1003, "x", mutation=False, retry_after=7.0)
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 7.0
    banned = classify(418, None, "banned", mutation=False, retry_after=120.0)
    assert isinstance(banned, IPBanned)
    assert banned.retry_after == 120.0
    defaulted = classify(429, None, "x", mutation=False)
    assert isinstance(defaulted, RateLimited)
    assert defaulted.retry_after > 0


def test_rejections_keep_code_and_status() -> None:
    error = classify(400, -1013, "Filter failure: LOT_SIZE", mutation=True)
    assert isinstance(error, Rejected)
    assert (error.code, error.http_status) == (-1013, 400)
    assert error.message == "Filter failure: LOT_SIZE"
    fault = classify(401, -2015, "Invalid API-key", mutation=False)
    assert isinstance(fault, ConfigFault)
    assert fault.code == -2015


def test_network_failures() -> None:
    assert type(classify_network(TimeoutError(), mutation=True, sent=True)) is UnknownOutcome
    assert type(classify_network(TimeoutError(), mutation=False, sent=True)) is TransientError
    assert type(classify_network(OSError(), mutation=True, sent=False)) is TransientError


def test_error_body_and_retry_after_parsing() -> None:
    assert parse_error_body(b'{"code":-1121,"msg":"Invalid symbol."}') == (-1121, "Invalid symbol.")
    html = b"<html>502 Bad Gateway</html>"
    assert parse_error_body(html) == (None, html.decode())
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
