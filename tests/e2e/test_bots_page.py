"""The bots page in headless chromium against a real runtime (scripted market data): create a
bot through the form (with its validation errors), stop and start it with confirmation, see its
figures, remove it; read-only under ``binbot serve``."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from pydantic import SecretStr

from binbot.api import ApiContainer, create_app
from binbot.config.settings import ApiSettings, Settings
from tests.e2e.conftest import TOKEN, LiveServer, login, open_page, shot, wait_js
from tests.unit.api.server_thread import free_port
from tests.unit.services.live_runtime import Live, bot, start_live

T = TypeVar("T")


class RuntimeServer:
    """The runtime and its API on their own event loop in a thread (the browser is sync)."""

    def __init__(self, db: Path, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._db, self._data_dir = db, data_dir
        self.loop = asyncio.new_event_loop()
        self.live: Live | None = None
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    async def _start(self) -> None:
        self.live = await start_live(self._db, [bot("cfg-btc")])
        settings = Settings(data_dir=self._data_dir, api=ApiSettings(port=self.port))
        container = ApiContainer(settings=settings, engine=self.live.engine, bus=self.live.bus,
                                 runtime=self.live.runtime, token=SecretStr(TOKEN),
                                 db_feed=True)
        self._server = uvicorn.Server(uvicorn.Config(
            create_app(container), host="127.0.0.1", port=self.port, log_config=None,
            access_log=False, timeout_graceful_shutdown=1))
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 - uvicorn has no started event
            await asyncio.sleep(0.02)

    async def _stop(self) -> None:
        assert self._server is not None
        assert self.live is not None
        self._server.should_exit = True
        await asyncio.wait_for(self._task, 10)
        await self.live.close()

    async def advance(self, minutes: int) -> None:
        assert self.live is not None
        await self.live.settle(self.live.market.advance(minutes))

    def __enter__(self) -> RuntimeServer:
        self._thread.start()
        self.call(self._start())
        return self

    def __exit__(self, *_exc: object) -> None:
        self.call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RuntimeServer]:
    with RuntimeServer(tmp_path / "db.sqlite", tmp_path) as running:
        yield running


def card(page: Any, bot_id: str) -> Any:
    return page.locator(f".bot[data-bot='{bot_id}']")


def fill_form(page: Any, **fields: str) -> None:
    for name, value in fields.items():
        selector = f"#create-form [name='{name}']"
        if page.locator(selector).evaluate("n => n.tagName") == "SELECT":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)


@pytest.mark.parametrize(("width", "height", "name"), [(390, 844, "phone"),
                                                       (1280, 900, "desktop")])
def test_create_stop_start_and_remove_from_the_page(chromium: Any, server: RuntimeServer,
                                                    width: int, height: int, name: str) -> None:
    assert server.live is not None
    runtime = server.live.runtime
    context, page, watch = open_page(chromium, server.url, width, height)
    login(page, server.url, "/bots")
    page.wait_for_selector(".bot[data-bot='cfg-btc'] .pill.status-running", timeout=10_000)
    assert page.get_attribute("nav a[aria-current='page']", "href") == "/bots"

    # Checked in the page: nothing is sent.
    fill_form(page, bot_id="bad id", symbol="ETHUSDT", capital="500")
    page.fill("#f-params", "{not json")
    page.click("#create-submit")
    wait_js(page, "document.getElementById('create-error').textContent.length > 0")
    error = page.text_content("#create-error")
    assert "Bot id" in error
    assert "Strategy parameters must be a JSON object" in error
    assert page.get_attribute("#f-bot-id", "aria-invalid") == "true"

    # Refused by the service: its reason is shown, nothing is created.
    fill_form(page, bot_id="eth-ma", symbol="NOPEUSDT", strategy_name="ma_cross",
              interval="1m")
    page.fill("#f-params", '{"fast": 2, "slow": 3}')
    page.click("#create-submit")
    wait_js(page, "document.getElementById('create-error').textContent.includes('NOPEUSDT')")
    assert "unknown symbol NOPEUSDT" in page.text_content("#create-error")
    assert [v.bot_id for v in runtime.bots()] == ["cfg-btc"]
    shot(page, f"bots-form-error-{name}")

    fill_form(page, symbol="ETHUSDT")
    page.click("#create-submit")
    page.wait_for_selector(".bot[data-bot='eth-ma'] .pill.status-running", timeout=10_000)
    assert page.text_content("#create-error") == ""
    assert runtime.view("eth-ma").params == {"fast": 2, "slow": 3}

    server.call(server.advance(8))
    eth = card(page, "eth-ma")
    eth.locator("button[data-action='details']").click()
    page.wait_for_selector(".bot[data-bot='eth-ma'] [data-role='stats']", timeout=10_000)
    assert "Today" in eth.text_content()
    wait_js(page, "document.getElementById('p-bots').textContent === '2 bots'")
    assert page.text_content("#p-capital") == "1,500.00"

    # Stop asks first; cancel leaves it running.
    eth.locator("button[data-action='stop']").click()
    assert page.is_visible("#confirm")
    assert "Stop bot: eth-ma" in page.text_content("#confirm-title")
    page.click("#confirm button[value='cancel']")
    assert runtime.view("eth-ma").status == "running"
    eth.locator("button[data-action='stop']").click()
    page.click("#confirm-ok")
    page.wait_for_selector(".bot[data-bot='eth-ma'] .pill.status-stopped", timeout=10_000)
    assert runtime.view("eth-ma").status == "stopped"
    shot(page, f"bots-{name}")

    card(page, "eth-ma").locator("button[data-action='start']").click()
    page.click("#confirm-ok")
    page.wait_for_selector(".bot[data-bot='eth-ma'] .pill.status-running", timeout=10_000)
    assert runtime.view("eth-ma").status == "running"

    card(page, "eth-ma").locator("button[data-action='remove']").click()
    assert "Remove bot: eth-ma" in page.text_content("#confirm-title")
    page.click("#confirm-ok")
    page.wait_for_selector(".bot[data-bot='eth-ma']", state="detached", timeout=10_000)
    assert [v.bot_id for v in runtime.bots()] == ["cfg-btc"]

    # The browser logs the refused create (HTTP 422) itself; nothing else may be logged.
    watch.errors = [e for e in watch.errors if "422" not in e]
    watch.assert_clean()
    context.close()


def test_read_only_server_shows_bots_without_controls(chromium: Any,
                                                      serve_server: LiveServer) -> None:
    context, page, watch = open_page(chromium, serve_server.url, 1280, 800)
    login(page, serve_server.url, "/bots")
    page.wait_for_selector(".bot[data-bot='boll-avax']", timeout=10_000)
    assert page.is_visible("#ro-badge")
    assert not page.is_visible("#create-card")
    assert not page.is_visible("#start-all")
    assert page.locator(".bot button[data-action='stop']").count() == 0
    assert page.locator(".bot button[data-action='details']").count() == 2
    deadline = time.monotonic() + 10
    while page.text_content("#p-bots") != "2 bots" and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert page.text_content("#p-bots") == "2 bots"
    watch.assert_clean()
    context.close()
