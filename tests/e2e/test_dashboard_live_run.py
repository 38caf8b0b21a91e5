"""The dashboard on a real ``binbot run`` paper-trading what the local exchange replays: price,
chart, positions and trades appear and update, the controls work, nothing leaves 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import TOKEN, login, open_page, shot, wait_js, wait_ready
from tests.unit.api.server_thread import free_port

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
DATA = SHARED / "data/klines/binance-um-1m/FILUSDT-1m-2025-04.csv.gz"
BOT = "boll-fil"


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the local exchange exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the local exchange did not start")


@pytest.fixture(scope="module")
def trading_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("live-run")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    exchange_port, api_port = free_port(), free_port()
    exchange_log = (root / "exchange.out").open("wb")
    # 300x: a 1m candle every 0.2 s, so the 1m BOLL bot warms up in seconds and trades often.
    exchange = subprocess.Popen(
        [sys.executable, "-m", "binbot", "exchange", "serve", "--data", str(DATA), "--speed",
         "300", "--port", str(exchange_port)], stdout=exchange_log, stderr=subprocess.STDOUT,
        env=env, cwd=root)
    service_log = (root / "run.out").open("wb")
    service: subprocess.Popen[bytes] | None = None
    try:
        _wait_port(exchange_port, exchange)
        config = root / "binbot.toml"
        config.write_text(
            f'data_dir = "{root / "data"}"\n'
            f'[exchange]\nvenue = "local"\nlocal_port = {exchange_port}\n'
            f'[api]\nport = {api_port}\ntoken = "{TOKEN}"\n'
            f'[[bots]]\nid = "{BOT}"\nsymbol = "FILUSDT"\ninterval = "1m"\n'
            'params = { period = 20, k = 2.0, quote_amount = "100" }\n', encoding="utf-8")
        service = subprocess.Popen([sys.executable, "-m", "binbot", "run", "-c", str(config)],
                                   stdout=service_log, stderr=subprocess.STDOUT, env=env,
                                   cwd=root)
        url = f"http://127.0.0.1:{api_port}"
        wait_ready(url, service)
        yield url
    finally:
        for proc in (service, exchange):
            if proc is None:
                continue
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        exchange_log.close()
        service_log.close()


@pytest.mark.parametrize(("width", "height", "name"), [(390, 844, "phone"),
                                                       (1280, 800, "desktop")])
def test_live_paper_trading_shows_up_and_updates(chromium: Any, trading_service: str,
                                                 width: int, height: int, name: str) -> None:
    url = trading_service
    context, page, watch = open_page(chromium, url, width, height)
    login(page, url)
    wait_js(page, "document.getElementById('status').textContent === 'live'", 15)
    assert page.text_content("#mode-badge") == "PAPER"
    page.wait_for_selector("#chart .main-svg", timeout=15_000)
    assert page.evaluate("document.getElementById('chart').data[0].type") == "candlestick"
    names = page.evaluate("document.getElementById('chart').data.map(t => t.name)")
    assert any(n.startswith("BB(") for n in names), names
    # The price moves with the replay.
    first = page.text_content("#chart-last")
    wait_js(page, f"document.getElementById('chart-last').textContent !== {first!r}", 15)
    # The bot trades: trades and a position appear without a reload.
    wait_js(page, "document.querySelectorAll('#trades tbody td:not(.empty)').length > 0", 40)
    wait_js(page, "document.querySelectorAll('#positions tbody td:not(.empty)').length > 0", 15)
    assert BOT in page.text_content("#bots")
    shot(page, f"live-run-{name}")
    watch.assert_clean()
    context.close()


def test_pause_and_resume_the_running_bot(chromium: Any, trading_service: str) -> None:
    url = trading_service
    context, page, watch = open_page(chromium, url, 390, 844)
    login(page, url)
    card = page.locator(f".bot[data-bot='{BOT}']")
    card.locator("button[data-action='pause']").click()
    page.click("#confirm-ok")
    page.wait_for_selector(f".bot[data-bot='{BOT}'] .pill.status-paused", timeout=10_000)
    page.locator(f".bot[data-bot='{BOT}'] button[data-action='resume']").click()
    page.click("#confirm-ok")
    page.wait_for_selector(f".bot[data-bot='{BOT}'] .pill.status-running", timeout=10_000)
    shot(page, "live-run-controls-phone")
    watch.assert_clean()
    context.close()
