"""The ``/__sim/`` control prefix: fault injection and state, for tests and operators.

Not part of Binance's API: requests here are neither weighed nor affected by faults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from binbot.exchange.faults import FaultController, FaultSpecError

PREFIX = "/__sim"


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def admin_routes(faults: FaultController,
                 state: Callable[[], dict[str, Any]]) -> list[web.RouteDef]:
    async def get_state(request: web.Request) -> web.Response:
        return _json(state())

    async def post_fault(request: web.Request) -> web.Response:
        try:
            spec = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _json({"error": "body must be JSON"}, 400)
        if not isinstance(spec, dict):
            return _json({"error": "body must be a JSON object with a 'kind'"}, 400)
        try:
            return _json(faults.apply(spec))
        except FaultSpecError as e:
            return _json({"error": str(e)}, 400)

    async def delete_fault(request: web.Request) -> web.Response:
        faults.clear()
        return _json({"kind": "clear", "ok": True})

    return [
        web.get(f"{PREFIX}/state", get_state),
        web.post(f"{PREFIX}/fault", post_fault),
        web.delete(f"{PREFIX}/fault", delete_fault),
    ]
