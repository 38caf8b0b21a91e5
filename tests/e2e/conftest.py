"""Browser tests: Playwright driving Debian's chromium (never `playwright install`).

Skipped with a reason when /usr/bin/chromium or playwright is missing; under CI=true they fail
instead, because CI installs chromium.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import psutil
import pytest

from tests.unit.api.sample_db import Sample, build_sample_db
from tests.unit.api.server_thread import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
TOKEN = "e2e-token-4b1d9a7c2f6e8035"


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e .[test])"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    for item in items:
        if "tests/e2e" not in str(item.path):
            continue
        item.add_marker(pytest.mark.browser)
        if reason is not None:
            if os.environ.get("CI") == "true":
                item.add_marker(pytest.mark.xfail(reason=reason, strict=True, run=False))
                raise pytest.UsageError(f"browser tests cannot run in CI: {reason}")
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclass
class LiveServer:
    url: str
    sample: Sample
    data_dir: Path


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx2.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become ready")


@pytest.fixture(scope="session")
def serve_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``binbot serve`` (a real subprocess) over a sample database."""
    root = tmp_path_factory.mktemp("serve")
    data = root / "data"
    data.mkdir()
    sample = build_sample_db(data / "binbot.db")
    port = free_port()
    config = root / "binbot.toml"
    config.write_text(f'data_dir = "{data}"\n[api]\nport = {port}\ntoken = "{TOKEN}"\n',
                      encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = (root / "serve.out").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "binbot", "serve", "-c", str(config)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    children: list[psutil.Process] = []
    try:
        wait_ready(url, proc)
        yield LiveServer(url, sample, data)
        # The dashboard's backtest worker (started by a test that ran one), and anything else.
        children = psutil.Process(proc.pid).children(recursive=True)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    _, alive = psutil.wait_procs(children, timeout=10)
    for leftover in alive:
        leftover.kill()
    assert not alive, f"binbot serve left processes behind: {alive}"


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    # Package scope: Playwright's sync API keeps an event loop running while it is open, which
    # would break every later asyncio test in the session.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--disable-gpu", "--disable-quic", "--disable-background-networking"])
        yield browser
        browser.close()


@dataclass
class Watch:
    """What a page did that it must not: leave 127.0.0.1, log console errors, throw."""

    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.outside == [], f"requests left the test server: {self.outside}"
        assert self.errors == [], f"console errors: {self.errors}"


def open_page(chromium: Any, base_url: str, width: int, height: int,
              scheme: str = "dark") -> tuple[Any, Any, Watch]:
    context = chromium.new_context(viewport={"width": width, "height": height},
                                   color_scheme=scheme, service_workers="block")
    page = context.new_page()
    watch = Watch()

    def guard(route: Any) -> None:
        if route.request.url.startswith(base_url + "/"):
            route.continue_()
        else:
            watch.outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watch.errors.append(str(e)))
    return context, page, watch


def login(page: Any, base_url: str, path: str = "/") -> None:
    page.goto(base_url + "/")
    page.fill("#token", TOKEN)
    page.click("#login-submit")
    page.wait_for_selector("#bots .bot", timeout=15_000)
    if path != "/":
        page.goto(base_url + path)


def wait_js(page: Any, expression: str, timeout_s: float = 10.0) -> None:
    """Poll a JS expression until it is truthy (``wait_for_function`` evaluates with ``eval``,
    which the dashboard's CSP rightly forbids; ``evaluate`` goes through the devtools protocol).
    """
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        page.wait_for_timeout(100)


def shot(page: Any, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def remove_artifacts() -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
