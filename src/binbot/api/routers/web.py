"""The dashboard pages, the bundled plotly.js, and the (authenticated) API docs."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from binbot import __version__
from binbot.api.deps import CallerDep, identify

router = APIRouter(include_in_schema=False)

PAGES = ("dashboard", "bots", "markets", "backtests", "login", "docs")


def plotly_js_path() -> str:
    return str(files("plotly") / "package_data" / "plotly.min.js")


def plotly_version() -> str:
    from plotly.offline import get_plotlyjs_version

    version: str = get_plotlyjs_version()
    return version


def load_pages() -> dict[str, str]:
    """The HTML pages with their cache-busting versions filled in (read once per app)."""
    folder = files("binbot.api") / "web" / "templates"
    values = {"{{PLOTLY_VERSION}}": plotly_version(), "{{VERSION}}": __version__}
    pages = {}
    for name in PAGES:
        text = (folder / f"{name}.html").read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(key, value)
        pages[name] = text
    return pages


_NO_STORE = {"Cache-Control": "no-store"}


def _page(request: Request, name: str) -> HTMLResponse:
    pages: dict[str, str] = request.app.state.pages
    return HTMLResponse(pages[name], headers=_NO_STORE)


@router.get("/")
async def dashboard(request: Request) -> HTMLResponse:
    """The dashboard, or the login form for a visitor without a session."""
    if identify(request) is None:
        return _page(request, "login")
    return _page(request, "dashboard")


@router.get("/bots", response_model=None)
async def bots_page(request: Request) -> Response:
    if identify(request) is None:
        return RedirectResponse("/", status.HTTP_303_SEE_OTHER)
    return _page(request, "bots")


@router.get("/markets", response_model=None)
async def markets_page(request: Request) -> Response:
    if identify(request) is None:
        return RedirectResponse("/", status.HTTP_303_SEE_OTHER)
    return _page(request, "markets")


@router.get("/backtests", response_model=None)
async def backtests_page(request: Request) -> Response:
    if identify(request) is None:
        return RedirectResponse("/", status.HTTP_303_SEE_OTHER)
    return _page(request, "backtests")


@router.get("/vendor/plotly.min.js")
async def plotly_js() -> FileResponse:
    """plotly.js as shipped inside the installed ``plotly`` package (never a CDN)."""
    return FileResponse(plotly_js_path(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})


@router.get("/openapi.json")
async def openapi(request: Request, _caller: CallerDep) -> JSONResponse:
    schema: dict[str, Any] = request.app.openapi()
    return JSONResponse(schema)


@router.get("/docs")
async def docs(request: Request, _caller: CallerDep) -> HTMLResponse:
    """A small offline reader of the OpenAPI document (Swagger UI would need a CDN)."""
    return _page(request, "docs")
