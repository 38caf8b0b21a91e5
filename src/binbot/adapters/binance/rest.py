"""``BinanceRestClient``: public market-data REST for spot and USD-M (one method per endpoint).

Every GET goes through the market's weight gate and is retried on network errors, 5xx and 429
(after ``Retry-After``) with capped jittered backoff and a bounded number of attempts. Errors come
out as domain errors. The client never makes a request the caller did not ask for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Final, TypeVar

import aiohttp
import msgspec
from yarl import URL

from binbot.adapters.binance import parsing
from binbot.adapters.binance.backoff import Backoff
from binbot.adapters.binance.clock import ClockOffset
from binbot.adapters.binance.endpoints import Endpoints, endpoints_for
from binbot.adapters.binance.errors import (
    classify,
    classify_network,
    parse_error_body,
    parse_retry_after,
)
from binbot.adapters.binance.signing import ParamValue, encode_query
from binbot.adapters.binance.weights import (
    DEFAULT_WEIGHT_LIMIT,
    MAX_KLINES,
    RateLimit,
    WeightGate,
    depth_weight,
    exchange_info_weight,
    klines_weight,
    ticker_price_weight,
)
from binbot.adapters.binance.wire import (
    WireDepthSnapshot,
    WireExchangeInfo,
    WireKlineRow,
    WirePremiumIndex,
    WireServerTime,
    WireTickerPrice,
)
from binbot.config.settings import ExchangeSettings
from binbot.domain.candle import Candle
from binbot.domain.depth import DepthSnapshot
from binbot.domain.errors import ExchangeError, IPBanned, RateLimited, TransientError
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market, interval_ms
from binbot.domain.market_events import MarkPriceEvent

log = logging.getLogger(__name__)

T = TypeVar("T")

_PREFIX: Final = {Market.SPOT: "/api/v3", Market.USDM: "/fapi/v1"}
_klines_decoder = msgspec.json.Decoder(list[WireKlineRow])


@dataclass(frozen=True, slots=True)
class _Response:
    body: bytes
    date_ms: int | None


class BinanceRestClient:
    """Market-data REST client. Pass a session to share it, or let the client own one."""

    def __init__(
        self,
        endpoints: Endpoints,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout_s: float = 10.0,
        max_attempts: int = 4,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 8.0,
        gates: Mapping[Market, WeightGate] | None = None,
        clock: ClockOffset | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, was {max_attempts}")
        self.endpoints = endpoints
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_attempts = max_attempts
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self.gates: dict[Market, WeightGate] = dict(gates) if gates else {
            market: WeightGate(limit) for market, limit in DEFAULT_WEIGHT_LIMIT.items()
        }
        self.clock = clock or ClockOffset()
        self._rate_limits: dict[Market, tuple[RateLimit, ...]] = {}

    @classmethod
    def from_settings(
        cls,
        settings: ExchangeSettings,
        *,
        session: aiohttp.ClientSession | None = None,
    ) -> BinanceRestClient:
        """A client for the configured venue (``binance``, ``testnet``, ``demo``, ``local``)."""
        endpoints = endpoints_for(settings.venue, settings.local_host, settings.local_port)
        return cls(endpoints, session=session, timeout_s=settings.request_timeout_s)

    # ------------------------------------------------------------------ lifecycle

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> BinanceRestClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ endpoints

    async def server_time(self, market: Market) -> int:
        """``GET /api/v3/time`` | ``/fapi/v1/time``; also feeds the clock-offset estimator."""
        timing = self.clock.start()
        response = await self._get(market, "/time", (), weight=1)
        server_ms = _decode(WireServerTime, response.body).serverTime
        self.clock.record(server_ms, timing)
        return server_ms

    async def instruments(self, market: Market) -> list[Instrument]:
        """``GET /api/v3/exchangeInfo`` | ``/fapi/v1/exchangeInfo``; adopts its weight limit."""
        response = await self._get(
            market, "/exchangeInfo", (), weight=exchange_info_weight(market)
        )
        info = _decode(WireExchangeInfo, response.body)
        limits = tuple(
            RateLimit(r.rateLimitType, r.interval, r.intervalNum, r.limit) for r in info.rateLimits
        )
        self._rate_limits[market] = limits
        for limit in limits:
            if limit.kind == "REQUEST_WEIGHT":
                self.gates[market].configure(limit)
                break
        return parsing.instruments(info, market)

    def rate_limits(self, market: Market) -> tuple[RateLimit, ...]:
        """The ``rateLimits`` of the last exchangeInfo read for ``market`` (empty before)."""
        return self._rate_limits.get(market, ())

    async def klines(
        self,
        market: Market,
        symbol: str,
        interval: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Candle]:
        """``GET /api/v3/klines`` | ``/fapi/v1/klines``."""
        params = _kline_params(("symbol", symbol), interval, start_ms, end_ms, limit)
        response = await self._get(
            market, "/klines", params, weight=klines_weight(market, limit)
        )
        rows = _decode_rows(response.body)
        return parsing.candles_from_rows(rows, market, symbol, interval, self._now_ms(response))

    async def continuous_klines(
        self,
        symbol: str,
        interval: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
        contract_type: str = "PERPETUAL",
    ) -> list[Candle]:
        """``GET /fapi/v1/continuousKlines`` (USD-M), candles keyed by the pair ``symbol``."""
        params = _kline_params(("pair", symbol), interval, start_ms, end_ms, limit)
        params.insert(1, ("contractType", contract_type))
        response = await self._get(
            Market.USDM, "/continuousKlines", params, weight=klines_weight(Market.USDM, limit)
        )
        rows = _decode_rows(response.body)
        now_ms = self._now_ms(response)
        return parsing.candles_from_rows(rows, Market.USDM, symbol, interval, now_ms)

    async def kline_history(
        self,
        market: Market,
        symbol: str,
        interval: str,
        start_ms: int,
        end_ms: int | None = None,
    ) -> AsyncIterator[list[Candle]]:
        """Pages of candles with ``start_ms <= open_time <= end_ms``, oldest first.

        Each page starts one interval after the previous page's last open time, so pages never
        overlap. Paging stops past ``end_ms``, on an empty page, or on a short page that ends
        with the still-forming candle (a short page of closed candles may come from a venue with
        a lower page cap, so it does not end the history by itself).
        """
        limit = MAX_KLINES[market]
        step = interval_ms(interval)
        cursor = start_ms
        while end_ms is None or cursor <= end_ms:
            page = await self.klines(market, symbol, interval, cursor, end_ms, limit)
            fresh = [
                c for c in page
                if c.open_time >= cursor and (end_ms is None or c.open_time <= end_ms)
            ]
            if not fresh:
                return
            full = len(page) >= limit
            if full and len(fresh) > 1 and not fresh[-1].closed:
                # The page's last candle only looks open (nothing follows it in this answer):
                # fetch it again as the first row of the next page, where it is known closed.
                fresh = fresh[:-1]
            yield fresh
            cursor = fresh[-1].open_time + step
            if not full and not fresh[-1].closed:
                return

    async def ticker_price(self, market: Market, symbol: str) -> Decimal:
        """``GET /api/v3/ticker/price`` | ``/fapi/v1/ticker/price``: last price as Decimal."""
        response = await self._get(
            market, "/ticker/price", (("symbol", symbol),), weight=ticker_price_weight(market)
        )
        return Decimal(_decode(WireTickerPrice, response.body).price)

    async def depth(self, market: Market, symbol: str, limit: int = 1000) -> DepthSnapshot:
        """``GET /api/v3/depth`` | ``/fapi/v1/depth``: a book snapshot for depth sync."""
        response = await self._get(
            market,
            "/depth",
            (("symbol", symbol), ("limit", limit)),
            weight=depth_weight(market, limit),
        )
        return parsing.depth_snapshot(_decode(WireDepthSnapshot, response.body), market, symbol)

    async def premium_index(self, symbol: str) -> MarkPriceEvent:
        """``GET /fapi/v1/premiumIndex``: mark price, index price and funding (USD-M)."""
        response = await self._get(Market.USDM, "/premiumIndex", (("symbol", symbol),), weight=1)
        return parsing.premium_index(_decode(WirePremiumIndex, response.body))

    # ------------------------------------------------------------------ transport

    def _now_ms(self, response: _Response) -> int:
        """Server time for deciding whether a REST candle is closed."""
        if self.clock.has_samples or response.date_ms is None:
            return self.clock.now_ms()
        return response.date_ms

    async def _get(
        self, market: Market, path: str, params: Sequence[tuple[str, ParamValue]], *, weight: int
    ) -> _Response:
        """One read with retries; raises a domain ``ExchangeError`` when it cannot succeed."""
        query = encode_query(params)
        url = f"{self.endpoints.rest(market)}{_PREFIX[market]}{path}"
        target = URL(f"{url}?{query}" if query else url, encoded=True)
        gate = self.gates[market]
        backoff = Backoff(self._backoff_initial_s, self._backoff_max_s)
        error: ExchangeError = TransientError("no attempt made")
        for attempt in range(1, self._max_attempts + 1):
            await gate.acquire(weight)
            try:
                return await self._attempt(gate, target)
            except IPBanned as e:
                gate.close_for(e.retry_after)
                raise
            except RateLimited as e:
                gate.close_for(e.retry_after)  # the next acquire waits exactly this long
                error = e
            except TransientError as e:
                error = e
                if attempt < self._max_attempts:
                    delay = backoff.next_delay()
                    log.warning("GET %s failed (%s); retry %d in %.2f s", path, e, attempt, delay)
                    await asyncio.sleep(delay)
        raise error

    async def _attempt(self, gate: WeightGate, target: URL) -> _Response:
        try:
            async with self._http().get(target, timeout=self._timeout) as resp:
                body = await resp.read()
                gate.observe(resp.headers)
                status = resp.status
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                date_ms = _date_ms(resp.headers.get("Date"))
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise classify_network(e, mutation=False, sent=True) from e
        if status == 200:
            return _Response(body, date_ms)
        code, message = parse_error_body(body)
        raise classify(status, code, message, mutation=False, retry_after=retry_after)


def _kline_params(
    symbol: tuple[str, str], interval: str, start_ms: int | None, end_ms: int | None, limit: int
) -> list[tuple[str, ParamValue]]:
    params: list[tuple[str, ParamValue]] = [symbol, ("interval", interval)]
    if start_ms is not None:
        params.append(("startTime", start_ms))
    if end_ms is not None:
        params.append(("endTime", end_ms))
    params.append(("limit", limit))
    return params


def _decode(kind: type[T], body: bytes) -> T:
    try:
        return msgspec.json.decode(body, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise TransientError(f"unexpected response body ({e}): {body[:200]!r}") from e


def _decode_rows(body: bytes) -> list[WireKlineRow]:
    try:
        return _klines_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise TransientError(f"unexpected klines body ({e}): {body[:200]!r}") from e


def _date_ms(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(parsedate_to_datetime(value).timestamp() * 1000)
    except (TypeError, ValueError):
        return None
