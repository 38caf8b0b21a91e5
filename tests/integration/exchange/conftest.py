"""A live local exchange on 127.0.0.1:0 driven by a manual wall clock (no sleeps to wait for)."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from binbot.exchange.hub import HubOptions
from binbot.exchange.server import ExchangeOptions, LocalExchange

from .signing import Client, Signer

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED = REPO_ROOT.parent / "shared"
DATA_DIR = SHARED / "data" / "klines" / "binance-um-1m"
FIL = DATA_DIR / "FILUSDT-1m-2025-04.csv.gz"
FIXTURES = SHARED / "fixtures" / "binance"
WALL_START = 1_800_000_000.0
SPEED = 60.0  # one wall second of the manual clock = one virtual minute
HISTORY_MIN = 600  # the replay starts 10 h into the file


def fixture(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text())


def first_open_ms() -> int:
    with gzip.open(FIL, "rt") as handle:
        next(handle)
        return int(next(handle).split(",")[0])


START_MS = first_open_ms() + HISTORY_MIN * 60_000


class ManualClock:
    def __init__(self) -> None:
        self.now = WALL_START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def assert_same_shape(ours: Any, ref: Any, where: str = "$") -> None:
    """Same keys and value types as Binance's payload (recursively)."""
    if isinstance(ref, dict):
        assert isinstance(ours, dict), f"{where}: expected an object, got {ours!r}"
        assert set(ours) == set(ref), f"{where}: keys {sorted(ours)} != {sorted(ref)}"
        for key in ref:
            assert_same_shape(ours[key], ref[key], f"{where}.{key}")
    elif isinstance(ref, list):
        assert isinstance(ours, list), f"{where}: expected a list, got {ours!r}"
        if not ref or not ours:
            return
        if len(ref) == len(ours) and not isinstance(ref[0], dict | list):
            for i, (a, b) in enumerate(zip(ours, ref, strict=True)):
                assert_same_shape(a, b, f"{where}[{i}]")
        else:
            for i, item in enumerate(ours):
                assert_same_shape(item, ref[0], f"{where}[{i}]")
    else:
        assert type(ours) is type(ref), f"{where}: {ours!r} is not like {ref!r}"


MakeExchange = Callable[..., Any]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def make_exchange(clock: ManualClock) -> AsyncIterator[MakeExchange]:
    started: list[LocalExchange] = []

    async def make(ws: HubOptions | None = None, **overrides: Any) -> LocalExchange:
        options: dict[str, Any] = {
            "data_files": [FIL], "speed": SPEED, "start_ms": START_MS,
            "anchor_wall_ms": int(WALL_START * 1000), "wall_clock": clock,
        }
        options.update(overrides)
        exchange = LocalExchange(ExchangeOptions(ws=ws or HubOptions(), **options))
        await exchange.start()
        started.append(exchange)
        return exchange

    yield make
    for exchange in started:
        await exchange.stop()


@pytest.fixture
async def exchange(make_exchange: MakeExchange) -> LocalExchange:
    ex: LocalExchange = await make_exchange()
    return ex


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def get_json(http: aiohttp.ClientSession, exchange: LocalExchange, path: str,
                   status: int = 200) -> Any:
    async with http.get(exchange.base_url + path) as response:
        body = await response.json(content_type=None)
        assert response.status == status, body
        return body


def usdm_fixture(relative: str) -> Any:
    return fixture("futures/" + relative)


def assert_covers_shape(ours: Any, ref: Any, where: str = "$") -> None:
    """Every key of Binance's payload is present with the same value type (extras allowed)."""
    if isinstance(ref, dict):
        assert isinstance(ours, dict), f"{where}: expected an object, got {ours!r}"
        missing = set(ref) - set(ours)
        assert not missing, f"{where}: missing {sorted(missing)}"
        for key in ref:
            assert_covers_shape(ours[key], ref[key], f"{where}.{key}")
    elif isinstance(ref, list):
        assert isinstance(ours, list), f"{where}: expected a list, got {ours!r}"
        for i, item in enumerate(ours):
            if ref:
                assert_covers_shape(item, ref[0], f"{where}[{i}]")
    elif ref is not None:
        assert type(ours) is type(ref), f"{where}: {ours!r} is not like {ref!r}"


@pytest.fixture
def signer() -> Signer:
    return Signer.hmac()


@pytest.fixture
async def trading(make_exchange: MakeExchange, signer: Signer) -> LocalExchange:
    """An exchange with one HMAC account (10000 USDT in each wallet)."""
    ex: LocalExchange = await make_exchange(accounts=[signer.spec()])
    return ex


@pytest.fixture
def client(http: aiohttp.ClientSession, trading: LocalExchange, signer: Signer,
           clock: ManualClock) -> Client:
    return Client(http, trading, signer, clock)
