"""Exchange errors, typed by what the caller should do next."""

from __future__ import annotations


class ExchangeError(Exception):
    """Base class for everything an exchange can answer that is not a success."""


class TransientError(ExchangeError):
    """A network failure or 5xx before anything could have happened: a read may retry."""


class RateLimited(ExchangeError):
    """HTTP 429 (-1003, -1015): wait ``retry_after`` seconds before the next request."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IPBanned(ExchangeError):
    """HTTP 418: every REST request must stop for ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TimestampError(ExchangeError):
    """-1021 / -5028: the request's timestamp is outside recvWindow; resync the clock."""


class Rejected(ExchangeError):
    """A definitive refusal (4xx with a Binance error code): nothing happened on the exchange."""

    def __init__(self, code: int, message: str, http_status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status


class ConfigFault(Rejected):
    """-1002, -1022, -2014, -2015: bad key, signature or permissions; halt that capability."""


class UnknownOutcome(ExchangeError):
    """A mutation whose result is unknown (timeout, 5xx after send): query, never resend."""
