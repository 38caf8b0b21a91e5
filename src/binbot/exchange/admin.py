"""The ``/__sim/`` control prefix: fault injection and state, for tests and operators.

Not part of Binance's API: requests here are neither weighed nor affected by faults.

- ``GET /__sim/state``; ``POST /__sim/fault`` (a JSON fault spec, see ``faults``);
  ``DELETE /__sim/fault`` (clear every fault).
- ``GET /__sim/ledger``: every order received (``ledger``), oldest first.
- ``POST /__sim/rules`` ``{"symbol": ..., "tick_size": ..., "step_size": ...,
  "min_notional": ...}``: change a symbol's filters from now on.
- ``GET /__sim/time``: the wall clock the signed requests are checked against (with the skew)
  and the virtual market time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import InvalidOperation
from typing import Any

import orjson
from aiohttp import web

from binbot.exchange.faults import FaultController, FaultSpecError
from binbot.exchange.ledger import Ledger
from binbot.exchange.rest import BinanceError

PREFIX = "/__sim"


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


RulesSetter = Callable[[str, Mapping[str, Any]], dict[str, Any]]


def _rules_handler(set_rules: RulesSetter | None) -> Callable[[web.Request], Any]:
    async def post_rules(request: web.Request) -> web.Response:
        try:
            spec = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _json({"error": "body must be JSON"}, 400)
        if not isinstance(spec, dict) or not isinstance(spec.get("symbol"), str) \
                or set_rules is None:
            return _json({"error": "body must be a JSON object with a 'symbol'"}, 400)
        try:
            return _json(set_rules(spec["symbol"], spec))
        except BinanceError as e:
            return _json({"error": e.msg}, 400)
        except (InvalidOperation, ValueError) as e:
            return _json({"error": f"bad rule value: {e}"}, 400)

    return post_rules


def admin_routes(faults: FaultController, state: Callable[[], dict[str, Any]],
                 ledger: Ledger | None = None,
                 set_rules: RulesSetter | None = None) -> list[web.RouteDef]:
    async def get_state(request: web.Request) -> web.Response:
        return _json(state())

    async def get_ledger(request: web.Request) -> web.Response:
        return _json([e.to_json() for e in ledger.entries] if ledger is not None else [])

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

    async def get_time(request: web.Request) -> web.Response:
        current = state()
        return _json({"signingTime": current["signing_time"],
                      "virtualTime": current["virtual_time"]})

    return [
        web.get(f"{PREFIX}/state", get_state),
        web.get(f"{PREFIX}/ledger", get_ledger),
        web.post(f"{PREFIX}/rules", _rules_handler(set_rules)),
        web.get(f"{PREFIX}/time", get_time),
        web.post(f"{PREFIX}/fault", post_fault),
        web.delete(f"{PREFIX}/fault", delete_fault),
    ]
