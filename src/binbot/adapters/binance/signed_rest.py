"""Signed REST transport (``TRADE``/``USER_DATA``/``USER_STREAM`` security) for one market.

Every request passes the market's weight gate. The query is built once per attempt, with a
fresh ``timestamp`` from the clock-offset estimator and the configured ``recvWindow``, signed,
and sent byte for byte as signed (``yarl`` is told the URL is already encoded).

Retry policy (reliability.md §1 rule 3):
- reads retry on network errors, 5xx and 429 (after ``Retry-After``), re-signed each time;
- mutations are never retried, with one exception: ``-1021``/``-5028`` (rejected before the
  matching engine) resyncs the clock and re-signs and resends once, for reads and mutations.

Clock: ``sync_clock_from_server=False`` keeps signing with the local wall clock and makes
``sync_clock`` a no-op. The local exchange needs it: its ``/time`` serves the replay's
(virtual) time while it checks signed timestamps against the wall clock, as Binance checks
them against its own clock; learning an offset from that ``/time`` would break every
signature. (``syncs_clock_from_server(venue)`` picks the setting from the venue name.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

import aiohttp
import msgspec
from yarl import URL

from binbot.adapters.binance.backoff import Backoff
from binbot.adapters.binance.clock import ClockOffset
from binbot.adapters.binance.errors import (
    classify,
    classify_network,
    parse_error_body,
    parse_retry_after,
)
from binbot.adapters.binance.signing import ParamValue, Signer, encode_query, signed_query
from binbot.adapters.binance.weights import WeightGate
from binbot.adapters.binance.wire import WireServerTime
from binbot.domain.errors import (
    ExchangeError,
    IPBanned,
    RateLimited,
    TimestampError,
    TransientError,
)
from binbot.domain.market import Market

log = logging.getLogger(__name__)

TIME_PATH: Final = {Market.SPOT: "/api/v3/time", Market.USDM: "/fapi/v1/time"}


@dataclass(frozen=True, slots=True)
class ApiKey:
    """The public key id and the signer holding the secret (never printed)."""

    key: str
    signer: Signer

    def __repr__(self) -> str:
        return "ApiKey(<redacted>)"


def syncs_clock_from_server(venue: str) -> bool:
    """Whether a venue's ``/time`` is the clock its signed endpoints check (not on "local")."""
    return venue != "local"


class SignedTransport:
    """Signed requests to one market's REST host."""

    def __init__(
        self,
        base_url: str,
        market: Market,
        api_key: ApiKey,
        *,
        session: aiohttp.ClientSession,
        gate: WeightGate,
        clock: ClockOffset,
        recv_window_ms: int = 5000,
        timeout_s: float = 10.0,
        read_attempts: int = 3,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 8.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        sync_clock_from_server: bool = True,
    ) -> None:
        if not 1 <= recv_window_ms <= 60_000:
            raise ValueError(f"recv_window_ms must be within 1..60000, was {recv_window_ms}")
        self.base_url = base_url.rstrip("/")
        self.market = market
        self._api_key = api_key
        self._session = session
        self.gate = gate
        self.clock = clock
        self.recv_window_ms = recv_window_ms
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._read_attempts = max(1, read_attempts)
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._sleep = sleep
        self.sync_clock_from_server = sync_clock_from_server
        self.clock_resyncs = 0

    @property
    def api_key(self) -> ApiKey:
        return self._api_key

    @property
    def session(self) -> aiohttp.ClientSession:
        return self._session

    async def resync_clock(self) -> None:
        """What a ``-1021``/``-5028`` answer calls for: forget the offset, sample it afresh.

        Public for the WS-API order transport, which shares this transport's clock."""
        await self._resync()

    async def sync_clock(self) -> None:
        """One ``GET /time`` sample into the offset estimator (nothing when the transport
        signs with the local clock, see the module docstring)."""
        if not self.sync_clock_from_server:
            return
        path = TIME_PATH[self.market]
        timing = self.clock.start()
        await self.gate.acquire(1)
        body = await self._send("GET", URL(f"{self.base_url}{path}", encoded=True),
                                mutation=False, with_key=False)
        try:
            server_ms = msgspec.json.decode(body, type=WireServerTime).serverTime
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise TransientError(f"unexpected time body: {body[:100]!r}") from e
        self.clock.record(server_ms, timing)

    async def request(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, ParamValue]] = (),
        *,
        weight: int = 1,
        mutation: bool,
        signed: bool = True,
    ) -> bytes:
        """Send and return the body of a 200 answer; raise a domain ``ExchangeError`` else."""
        backoff = Backoff(*self._backoff)
        attempts = 1 if mutation else self._read_attempts
        clock_retry = True
        attempt = 0
        error: ExchangeError = TransientError("no attempt made")
        while attempt < attempts:
            attempt += 1
            await self.gate.acquire(weight)
            url = self._url(path, params, signed)
            try:
                return await self._send(method, url, mutation=mutation, with_key=True)
            except TimestampError as e:
                if not (signed and clock_retry):
                    raise
                clock_retry = False
                attempt -= 1  # the one re-signed resend does not count as a retry
                log.warning("%s %s: %s; resyncing the clock and re-signing once", method, path, e)
                await self._resync()
            except IPBanned as e:
                self.gate.close_for(e.retry_after)
                raise
            except RateLimited as e:
                self.gate.close_for(e.retry_after)  # the next acquire waits exactly this long
                if mutation:
                    raise
                error = e
            except TransientError as e:
                if mutation:
                    raise
                error = e
                if attempt < attempts:
                    delay = backoff.next_delay()
                    log.warning("%s %s failed (%s); retry in %.2f s", method, path, e, delay)
                    await self._sleep(delay)
        raise error

    async def _resync(self) -> None:
        self.clock_resyncs += 1
        if not self.sync_clock_from_server:
            return
        # The median of the old samples would outvote one new one: the clock moved, so start
        # afresh (one resync must recover, reliability G5).
        self.clock.clear()
        try:
            await self.sync_clock()
        except ExchangeError as e:
            log.warning("clock resync failed: %s", e)

    def _url(self, path: str, params: Sequence[tuple[str, ParamValue]], signed: bool) -> URL:
        if signed:
            full = [*params, ("recvWindow", self.recv_window_ms),
                    ("timestamp", self.clock.timestamp_ms())]
            query = signed_query(full, self._api_key.signer)
        else:
            query = encode_query(params)
        text = f"{self.base_url}{path}?{query}" if query else f"{self.base_url}{path}"
        return URL(text, encoded=True)

    async def _send(self, method: str, url: URL, *, mutation: bool, with_key: bool) -> bytes:
        headers = {"X-MBX-APIKEY": self._api_key.key} if with_key else {}
        try:
            async with self._session.request(
                method, url, headers=headers, timeout=self._timeout
            ) as resp:
                body = await resp.read()
                self.gate.observe(resp.headers)
                status = resp.status
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        except aiohttp.ClientConnectorError as e:
            # The connection was never established: nothing can have reached the venue.
            raise classify_network(e, mutation=mutation, sent=False) from e
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise classify_network(e, mutation=mutation, sent=True) from e
        if status == 200:
            return body
        code, message = parse_error_body(body)
        raise classify(status, code, message, mutation=mutation, retry_after=retry_after)
