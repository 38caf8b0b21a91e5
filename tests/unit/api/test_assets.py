"""The page assets: offline only, plotly.js from the installed package, served from the wheel."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from fastapi.testclient import TestClient

from binbot.api.routers.web import plotly_js_path, plotly_version
from tests.unit.api.conftest import AUTH

WEB = Path(str(files("binbot.api") / "web"))
EXPECTED_PLOTLY_MAJOR = "4"


def _web_files() -> list[Path]:
    return [p for p in WEB.rglob("*") if p.is_file() and p.suffix in (".html", ".js", ".css",
                                                                       ".svg")]


def test_no_asset_loads_anything_from_another_host() -> None:
    found = _web_files()
    assert {p.name for p in found} >= {"dashboard.html", "login.html", "dashboard.js",
                                       "app.css", "common.js"}
    for path in found:
        text = path.read_text(encoding="utf-8")
        for pattern in (r'src="http', r'href="http', r"src='http", r"href='http",
                        r"url\(\s*['\"]?http", r"@import", r"fetch\(\s*['\"]http",
                        r"new EventSource\(\s*['\"]http"):
            assert not re.search(pattern, text, re.IGNORECASE), (path.name, pattern)


def test_no_third_party_file_is_committed() -> None:
    sizes = {p.name: p.stat().st_size for p in _web_files()}
    assert "plotly.min.js" not in sizes
    assert max(sizes.values()) < 100_000  # our own small files only


def test_plotly_file_comes_from_the_installed_package() -> None:
    path = Path(plotly_js_path())
    assert path.is_file()
    assert path.stat().st_size > 1_000_000
    head = path.read_bytes()[:400].decode("ascii", errors="replace")
    assert "plotly.js v" + EXPECTED_PLOTLY_MAJOR in head
    assert plotly_version().startswith(EXPECTED_PLOTLY_MAJOR + ".")


def test_plotly_is_served_cached_and_compressed(client: TestClient) -> None:
    response = client.get("/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "immutable" in response.headers["cache-control"]
    assert response.headers["content-encoding"] == "gzip"


def test_pages_reference_the_versioned_plotly_and_static_files(client: TestClient) -> None:
    client.post("/api/v1/login", json={"token": AUTH["Authorization"].split()[1]})
    page = client.get("/").text
    assert f"/vendor/plotly.min.js?v={plotly_version()}" in page
    for asset in re.findall(r'(?:src|href)="(/static/[^"?]+)', page):
        response = client.get(asset)
        assert response.status_code == 200, asset
    assert 'name="viewport"' in page


def test_static_files_are_public_but_hold_no_data(client: TestClient) -> None:
    response = client.get("/static/dashboard.js")
    assert response.status_code == 200
    assert "EventSource" in client.get("/static/common.js").text
    assert client.get("/static/../container.py").status_code == 404
