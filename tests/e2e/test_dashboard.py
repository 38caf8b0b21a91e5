"""The dashboard in headless chromium at phone and desktop sizes, fed by `binbot serve`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert

from binbot.storage.trading_tables import equity_snapshots, trades
from tests.e2e.conftest import TOKEN, LiveServer, login, open_page, shot, wait_js
from tests.unit.api.sample_db import BOT_ID

VIEWPORTS = [(390, 844, "phone"), (1280, 800, "desktop")]


def test_login_page_rejects_a_wrong_token(chromium: Any, serve_server: LiveServer) -> None:
    context, page, watch = open_page(chromium, serve_server.url, 390, 844)
    page.goto(serve_server.url + "/")
    page.fill("#token", "not-the-token-at-all")
    page.click("#login-submit")
    wait_js(page, "document.getElementById('login-error').textContent.length > 0")
    assert "not right" in page.text_content("#login-error")
    shot(page, "login-phone")
    watch.errors = [e for e in watch.errors if "401" not in e]  # the refused login itself
    watch.assert_clean()
    context.close()


@pytest.mark.parametrize(("width", "height", "name"), VIEWPORTS)
def test_dashboard_renders_and_updates_live(chromium: Any, serve_server: LiveServer,
                                            width: int, height: int, name: str) -> None:
    context, page, watch = open_page(chromium, serve_server.url, width, height)
    login(page, serve_server.url)
    wait_js(page, "document.getElementById('status').textContent === 'live'",
                           10)
    page.wait_for_selector("#chart .main-svg", timeout=15_000)
    assert page.evaluate("document.getElementById('chart').data[0].type") == "candlestick"
    names = page.evaluate("document.getElementById('chart').data.map(t => t.name)")
    assert any(n.startswith("BB(20,2)") for n in names)  # the BOLL strategy's bands
    assert "trades" in names
    page.wait_for_selector("#equity-chart .main-svg")
    assert page.text_content("#mode-badge") == "PAPER"
    assert page.is_visible("#ro-badge") == (width > 560)
    assert page.locator("#positions tbody tr").count() == 1
    assert BOT_ID in page.text_content("#positions tbody")
    # (an earlier test may have added one)
    assert page.locator("#trades tbody tr").count() >= serve_server.sample.trade_count
    assert page.locator("#orders tbody tr").count() == 1
    # Controls are hidden on a read-only server.
    assert page.locator(".bot-actions").count() == 0

    # The bot writes a trade and an equity snapshot: the page shows them without a reload.
    sample = serve_server.sample
    marker = str(Decimal("7.777") + Decimal(width) / 100_000)  # unique per viewport
    with sample.engine.begin() as conn:
        conn.execute(insert(trades).values(
            bot_id=BOT_ID, symbol="AVAXUSDT", action="close_long",
            time_ms=sample.last_open_ms + width, price=marker, quantity="2", fee="0.01",
            pnl="3.21", client_order_id=f"bb-e2e-{width}"))
        conn.execute(insert(equity_snapshots).values(
            bot_id=BOT_ID, time_ms=sample.last_open_ms + 60_000 + width, equity="1234.5",
            balance="1234.5", unrealized_pnl="0", position_qty="0",
            price=sample.closes[-1]))
    shown = f"{float(marker):.4f}"
    wait_js(page, f"document.querySelector('#trades tbody').textContent.includes('{shown}')",
        10)
    wait_js(page, "document.getElementById('equity').textContent.startsWith('1,734.50')")
    assert page.text_content("#status") == "live"
    shot(page, f"dashboard-{name}")
    watch.assert_clean()
    context.close()


@pytest.mark.parametrize(("width", "height", "name"), VIEWPORTS)
def test_markets_page_charts_any_symbol(chromium: Any, serve_server: LiveServer, width: int,
                                        height: int, name: str) -> None:
    context, page, watch = open_page(chromium, serve_server.url, width, height)
    login(page, serve_server.url, "/markets")
    page.wait_for_selector("#m-chart .main-svg", timeout=15_000)
    assert page.locator("#markets tbody tr").count() == 3
    page.click("#markets tbody tr[data-symbol='DOTUSDT']")
    wait_js(page, "document.getElementById('m-title').textContent.startsWith('DOTUSDT')")
    page.click("#m-interval button[data-interval='15m']")
    page.check("#m-indicators input[value='rsi']")
    wait_js(page, "document.getElementById('m-chart').data"
            ".some(t => t.name.startsWith('RSI'))",
        10)
    assert page.evaluate("document.getElementById('m-chart').data[0].x.length") > 100
    shot(page, f"markets-{name}")
    watch.assert_clean()
    context.close()


def test_backtests_page_shows_a_run(chromium: Any, serve_server: LiveServer) -> None:
    context, page, watch = open_page(chromium, serve_server.url, 1280, 800, scheme="light")
    login(page, serve_server.url, "/backtests")
    page.wait_for_selector("#bt-price .main-svg", timeout=15_000)
    page.wait_for_selector("#bt-equity .main-svg")
    assert page.locator("#runs tbody tr").count() >= 1
    assert page.locator("#bt-metrics .stat").count() == 6
    assert page.locator("#bt-trades tbody tr").count() > 5
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    shot(page, "backtests-desktop-light")
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    watch.assert_clean()
    context.close()


def test_api_docs_page_lists_the_endpoints(chromium: Any, serve_server: LiveServer) -> None:
    context, page, watch = open_page(chromium, serve_server.url, 1280, 800)
    login(page, serve_server.url, "/docs")
    page.wait_for_selector(".endpoint", timeout=10_000)
    assert "/api/v1/candles" in page.text_content("#endpoints")
    assert TOKEN not in page.content()
    watch.assert_clean()
    context.close()


def test_backtest_button_runs_and_opens_the_result(chromium: Any,
                                                   serve_server: LiveServer) -> None:
    context, page, watch = open_page(chromium, serve_server.url, 1280, 800)
    login(page, serve_server.url, "/markets")
    page.wait_for_selector("#m-chart .main-svg", timeout=15_000)
    page.select_option("#bt-strategy", "boll")
    page.click("#bt-run")
    page.wait_for_url("**/backtests?run=*", timeout=120_000)
    page.wait_for_selector("#bt-price .main-svg", timeout=15_000)
    run_id = page.url.rsplit("=", 1)[1]
    assert page.locator(f"#runs tbody tr[data-run='{run_id}']").count() == 1
    assert "selected" in page.locator(f"#runs tbody tr[data-run='{run_id}']").get_attribute(
        "class")
    assert "AVAXUSDT" in page.text_content("#bt-title")
    shot(page, "backtest-from-markets")
    watch.assert_clean()
    context.close()
