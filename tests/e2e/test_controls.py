"""Bot controls with confirmation, against a server running a Runtime; the stale indicator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from binbot.api import ApiContainer, create_app
from binbot.config.settings import ApiSettings, Settings
from binbot.core.event_bus import EventBus
from tests.e2e.conftest import TOKEN, LiveServer, login, open_page, shot, wait_js
from tests.unit.api.fake_runtime import FakeRuntime
from tests.unit.api.server_thread import ServerThread


@pytest.fixture
def run_server(serve_server: LiveServer, tmp_path: Path) -> Iterator[tuple[ServerThread,
                                                                          FakeRuntime]]:
    bus = EventBus()
    runtime = FakeRuntime(bus)
    settings = Settings(data_dir=tmp_path, api=ApiSettings(token=SecretStr(TOKEN)))
    container = ApiContainer(settings=settings, engine=serve_server.sample.engine, bus=bus,
                             runtime=runtime, token=SecretStr(TOKEN))
    with ServerThread(create_app(container)) as server:
        yield server, runtime


def test_controls_confirm_then_apply(chromium: Any, run_server: tuple[ServerThread,
                                                                      FakeRuntime]) -> None:
    server, runtime = run_server
    context, page, watch = open_page(chromium, server.url, 390, 844)
    login(page, server.url)
    card = page.locator(".bot[data-bot='boll-avax']")
    card.locator("button[data-action='stop']").click()
    assert page.is_visible("#confirm")
    page.click("#confirm button[value='cancel']")
    assert runtime.calls == []

    card.locator("button[data-action='pause']").click()
    assert "Pause bot" in page.text_content("#confirm-title")
    page.click("#confirm-ok")
    page.wait_for_selector(".bot[data-bot='boll-avax'] .pill.status-paused", timeout=5_000)
    assert runtime.calls == [("pause", "boll-avax")]
    page.locator(".bot[data-bot='boll-avax'] button[data-action='resume']").click()
    page.click("#confirm-ok")
    page.wait_for_selector(".bot[data-bot='boll-avax'] .pill.status-running", timeout=5_000)
    assert runtime.calls[-1] == ("resume", "boll-avax")
    shot(page, "controls-phone")
    watch.assert_clean()

    # The server goes away: the header says the data is stale.
    server.__exit__(None, None, None)
    wait_js(page, "document.getElementById('status').textContent.startsWith('stale')", 10)
    assert "updated" in page.text_content("#status")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "stale-phone", full_page=False)
    context.close()
