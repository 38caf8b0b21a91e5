"""``binbot data download --venue local``: the real REST client against the local exchange."""

from __future__ import annotations

import asyncio
import gzip
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from binbot.domain.market import Market
from binbot.exchange.server import ExchangeOptions, LocalExchange
from binbot.storage.candles import SqlCandleStore
from binbot.storage.database import make_engine, sqlite_url

from .conftest import KLINES_DIR

DATA = KLINES_DIR / "FILUSDT-1m-2025-04.csv.gz"
HISTORY = 3 * 1440  # the replay starts three days into the file


def archive_rows() -> list[list[str]]:
    with gzip.open(DATA, "rt") as f:
        next(f)
        return [line.strip().split(",") for line in f]


@pytest.fixture
async def exchange() -> AsyncIterator[LocalExchange]:
    first = int(archive_rows()[0][0])
    options = ExchangeOptions(data_files=[DATA], speed=1.0, start_ms=first + HISTORY * 60_000)
    async with LocalExchange(options) as ex:
        yield ex


async def run_cli(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "binbot", "data", "download", "--datadir", str(tmp_path / "d"),
        *args, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_download_from_the_local_exchange_is_exact_and_resumable(
        exchange: LocalExchange, tmp_path: Path) -> None:
    args = ("--venue", "local", "--port", str(exchange.port), "--symbol", "FILUSDT",
            "--interval", "1m", "--days", "2")
    code, out, err = await run_cli(tmp_path, *args)
    assert code == 0, err
    assert "candles stored" in out
    engine = make_engine(sqlite_url(tmp_path / "d" / "binbot.db"))
    store = SqlCandleStore(engine)
    arrays = store.read_arrays(Market.USDM, "FILUSDT", "1m")
    assert 2 * 1440 <= len(arrays) <= 2 * 1440 + 2
    assert bool((arrays.open_time[1:] - arrays.open_time[:-1] == 60_000).all())
    by_time = {int(r[0]): r for r in archive_rows()}
    closed = arrays.closed
    for t, close, volume in zip(arrays.open_time[closed][:100], arrays.close[closed][:100],
                                arrays.volume[closed][:100], strict=True):
        assert close == float(by_time[int(t)][4])
        assert volume == float(by_time[int(t)][5])

    code, out, err = await run_cli(tmp_path, *args)
    assert code == 0, err
    fetched = int(out.split("fetched ")[1].split(" ")[0].replace(",", ""))
    assert fetched <= 3  # only the forming candle (and what the replay added meanwhile)
    engine.dispose()
