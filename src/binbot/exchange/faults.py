"""Fault injection: what the local exchange does wrong on request.

One controller serves both the admin endpoint (``POST /__sim/fault`` with a JSON spec) and the
python handle ``LocalExchange.faults``; ``apply(spec)`` is the common entry point.

Kinds:
- ``drop_ws`` (``mode`` abort|close): cut every WebSocket connection now.
- ``silence`` (``seconds``, or none = until cleared): send nothing on WebSockets (data, replies,
  pings, pong answers): a dead peer. ``unsilence`` ends it.
- ``rest_429`` / ``rest_418`` (``count``, ``retry_after``): the next requests answer 429/418
  with ``Retry-After``.
- ``rest_1021`` (``count``): -1021 timestamp outside recvWindow.
- ``rest_5xx`` (``count``, ``variant`` unknown|unavailable|internal|timeout|overloaded,
  optional ``status``): Binance's 5xx answers.
- ``rest_delay`` (``count``, ``seconds``): answer late (past a client's timeout).
- ``malformed`` (``count``, ``mode`` json|utf8): the next WebSocket data frames are broken.
- ``rest_drop`` (``count``): close the connection without answering (nothing executed).

Order faults that EXECUTE first (the order reaches the matching engine, then the reply is
lost); by default they hit only order placement (``POST /fapi/v1/order``,
``/fapi/v1/algoOrder``, ``/api/v3/order`` and the USD-M WS API's ``order.place``, whichever
comes next), ``path`` narrows them further (``/ws-fapi/v1``: the WS API only; a refusing fault
such as ``rest_5xx`` or ``rest_drop`` hits ``order.place`` only with that ``path``):
- ``execute_then_5xx`` (``count``, ``variant`` as rest_5xx, optional ``status``).
- ``execute_then_delay`` (``count``, ``seconds``): the reply comes late (past a client timeout).
- ``execute_then_drop`` (``count``): the connection is cut instead of answering.
Not executing: ``rest_5xx`` / ``rest_429`` / ``rest_418`` / ``rest_1021`` / ``rest_drop`` with
``path`` set to an order endpoint (``{"kind": "rest_5xx", "variant": "unavailable",
"path": "/fapi/v1/order"}`` is USD-M's 503 "Service Unavailable." without executing).

User data streams:
- ``user_silence`` (``seconds`` or until ``user_unsilence``): events are dropped and pings
  neither sent nor answered on user-data connections (market streams unaffected).
- ``user_duplicate`` (``count``): the next events are delivered twice.
- ``user_reorder`` (``count``): the next events are each held back and delivered after the one
  that follows them (out of order).
- ``user_drop`` (``mode`` abort|close): cut the user-data connections only (``drop_ws`` cuts
  every connection).
- ``listen_key_expire`` (optional ``listen_key``, ``e_as_string``): expire USD-M listenKeys now
  (``listenKeyExpired`` is sent, connections close, PUT answers -1125).
- ``user_terminate``: spot WS-API subscriptions get ``eventStreamTerminated`` and end.

Clock: ``clock_skew`` (``ms``): the server clock used for signed ``timestamp`` checks becomes
wall clock + ``ms`` (negative: the server is behind the client).

- ``clear``: remove every fault (and the clock skew set through faults).
REST faults accept ``path`` (a prefix such as ``/fapi/v1/klines``) to hit only some endpoints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from binbot.exchange.clock import WallClock


class FaultSpecError(ValueError):
    """An admin request that does not describe a known fault."""


_5XX: Final[dict[str, tuple[int, int, str]]] = {
    # variant: (HTTP status, code, msg) as Binance answers them
    "unknown": (503, -1000, "Unknown error, please check your request or try again later."),
    "unavailable": (503, -1000, "Service Unavailable."),
    "internal": (500, -1001, "Internal error; unable to process your request. Please try again."),
    "timeout": (503, -1007, "Timeout waiting for response from backend server. "
                            "Send status unknown; execution status unknown."),
    "overloaded": (503, -1008, "Server is currently overloaded with other requests. "
                               "Please try again in a few minutes."),
}
MALFORMED_MODES: Final = ("json", "utf8")
# The USD-M WebSocket API's order.place counts as an order placement (``path`` "/ws-fapi/v1"
# narrows a fault to it, "/fapi/v1/order" to REST).
WS_FAPI_PATH: Final = "/ws-fapi/v1"
ORDER_PATHS: Final = ("/fapi/v1/order", "/fapi/v1/algoOrder", "/api/v3/order", WS_FAPI_PATH)
# Faults that answer before executing, which order.place suffers only when aimed at its path.
_WS_REFUSING_KINDS: Final = ("rest_5xx", "rest_429", "rest_418", "rest_1021", "rest_drop")
AFTER_EXECUTE_KINDS: Final = ("execute_then_5xx", "execute_then_delay", "execute_then_drop")


@dataclass(slots=True)
class RestFault:
    kind: str
    remaining: int
    status: int
    body: dict[str, Any] | None
    retry_after: int | None = None
    delay_s: float = 0.0
    path: str | None = None
    after_execute: bool = False  # the handler runs (the order executes), then the fault

    def matches(self, path: str, method: str) -> bool:
        if self.after_execute:
            if method != "POST" or path not in ORDER_PATHS:
                return False
        return self.path is None or path.startswith(self.path)


@dataclass(slots=True)
class _Malformed:
    remaining: int = 0
    mode: str = "json"


@dataclass(slots=True)
class FaultCounters:
    rest_faults_served: int = 0
    malformed_sent: int = 0
    drops: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class FaultController:
    def __init__(self, wall: WallClock) -> None:
        self._wall = wall
        self._silent_until: float | None = None
        self._rest: list[RestFault] = []
        self._malformed = _Malformed()
        self._dropper: Callable[[str], int] | None = None
        self._user_dropper: Callable[[str], int] | None = None
        self._expirer: Callable[[str | None, bool], int] | None = None
        self._terminator: Callable[[], int] | None = None
        self._user_silent_until: float | None = None
        self._user_duplicate = 0
        self._user_reorder = 0
        self.base_skew_ms = 0  # from the options; faults add to it
        self._skew_ms = 0
        self.counters = FaultCounters()

    def bind_ws(self, dropper: Callable[[str], int]) -> None:
        """Called by the WebSocket hub: how to cut every connection."""
        self._dropper = dropper

    def bind_user(self, dropper: Callable[[str], int],
                  expirer: Callable[[str | None, bool], int],
                  terminator: Callable[[], int]) -> None:
        """Called by the user-data streams: how to cut them, expire keys, end subscriptions."""
        self._user_dropper = dropper
        self._expirer = expirer
        self._terminator = terminator

    # -- python API ----------------------------------------------------------------------------

    def drop_ws(self, mode: str = "abort") -> int:
        """Cut every WebSocket connection; returns how many were cut."""
        if mode not in ("abort", "close"):
            raise FaultSpecError(f"drop mode must be abort or close, was {mode!r}")
        self.counters.drops += 1
        market = self._dropper(mode) if self._dropper is not None else 0
        return market + (self._user_dropper(mode) if self._user_dropper is not None else 0)

    def user_drop(self, mode: str = "abort") -> int:
        if mode not in ("abort", "close"):
            raise FaultSpecError(f"drop mode must be abort or close, was {mode!r}")
        self.counters.drops += 1
        return self._user_dropper(mode) if self._user_dropper is not None else 0

    def user_silence(self, seconds: float | None = None) -> None:
        self._user_silent_until = math.inf if seconds is None else self._wall() + float(seconds)

    def user_unsilence(self) -> None:
        self._user_silent_until = None

    def user_silent(self) -> bool:
        until = self._user_silent_until
        if until is None:
            return False
        if self._wall() >= until:
            self._user_silent_until = None
            return False
        return True

    def user_duplicate(self, count: int = 1) -> None:
        self._user_duplicate = count

    def user_reorder(self, count: int = 1) -> None:
        self._user_reorder = count

    def take_user_duplicate(self) -> bool:
        if self._user_duplicate <= 0:
            return False
        self._user_duplicate -= 1
        self._count("user_duplicate")
        return True

    def take_user_reorder(self) -> bool:
        if self._user_reorder <= 0:
            return False
        self._user_reorder -= 1
        self._count("user_reorder")
        return True

    def expire_listen_keys(self, listen_key: str | None = None, e_as_string: bool = False) -> int:
        return self._expirer(listen_key, e_as_string) if self._expirer is not None else 0

    def terminate_user_streams(self) -> int:
        return self._terminator() if self._terminator is not None else 0

    def set_clock_skew(self, ms: int) -> None:
        """The signed-request clock becomes wall + base skew + ``ms``."""
        self._skew_ms = int(ms)

    @property
    def clock_skew_ms(self) -> int:
        return self.base_skew_ms + self._skew_ms

    def _count(self, kind: str) -> None:
        self.counters.by_kind[kind] = self.counters.by_kind.get(kind, 0) + 1

    def execute_then_5xx(self, count: int = 1, variant: str = "unknown",
                         status: int | None = None, path: str | None = None) -> None:
        self.rest_5xx(count, variant, status, path)
        fault = self._rest[-1]
        fault.kind, fault.after_execute = "execute_then_5xx", True

    def execute_then_delay(self, seconds: float, count: int = 1, path: str | None = None) -> None:
        self._rest.append(RestFault("execute_then_delay", count, 200, None,
                                    delay_s=float(seconds), path=path, after_execute=True))

    def execute_then_drop(self, count: int = 1, path: str | None = None) -> None:
        self._rest.append(RestFault("execute_then_drop", count, 0, None, path=path,
                                    after_execute=True))

    def rest_drop(self, count: int = 1, path: str | None = None) -> None:
        self._rest.append(RestFault("rest_drop", count, 0, None, path=path))

    def silence(self, seconds: float | None = None) -> None:
        self._silent_until = math.inf if seconds is None else self._wall() + float(seconds)

    def unsilence(self) -> None:
        self._silent_until = None

    def is_silent(self) -> bool:
        until = self._silent_until
        if until is None:
            return False
        if self._wall() >= until:
            self._silent_until = None
            return False
        return True

    def rest_429(self, count: int = 1, retry_after: int = 1, path: str | None = None) -> None:
        body = {"code": -1003, "msg": "Too many requests; current limit of IP is exceeded. "
                "Please use the websocket for live updates to avoid polling the API."}
        self._rest.append(RestFault("rest_429", count, 429, body, retry_after, path=path))

    def rest_418(self, count: int = 1, retry_after: int = 120, path: str | None = None) -> None:
        # The ban end is filled in when the response is made (it is a wall-clock instant).
        self._rest.append(RestFault("rest_418", count, 418, None, retry_after, path=path))

    def rest_1021(self, count: int = 1, path: str | None = None) -> None:
        body = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
        self._rest.append(RestFault("rest_1021", count, 400, body, path=path))

    def rest_5xx(self, count: int = 1, variant: str = "unknown", status: int | None = None,
                 path: str | None = None) -> None:
        if variant not in _5XX:
            raise FaultSpecError(f"unknown 5xx variant {variant!r}; one of {', '.join(_5XX)}")
        default_status, code, msg = _5XX[variant]
        chosen = default_status if status is None else int(status)
        if not 500 <= chosen <= 599:
            raise FaultSpecError(f"status must be 5xx, was {chosen}")
        self._rest.append(RestFault("rest_5xx", count, chosen, {"code": code, "msg": msg},
                                    path=path))

    def rest_delay(self, seconds: float, count: int = 1, path: str | None = None) -> None:
        self._rest.append(RestFault("rest_delay", count, 200, None, delay_s=float(seconds),
                                    path=path))

    def malformed(self, count: int = 1, mode: str = "json") -> None:
        if mode not in MALFORMED_MODES:
            raise FaultSpecError(f"malformed mode must be one of {MALFORMED_MODES}, was {mode!r}")
        self._malformed = _Malformed(count, mode)

    def clear(self) -> None:
        self._silent_until = None
        self._rest.clear()
        self._malformed = _Malformed()
        self._user_silent_until = None
        self._user_duplicate = 0
        self._user_reorder = 0
        self._skew_ms = 0

    # -- used by the server --------------------------------------------------------------------

    def take_rest_fault(self, path: str, method: str = "GET") -> RestFault | None:
        """The fault the next request on ``path`` must suffer, if any (consumes one)."""
        for fault in self._rest:
            if fault.matches(path, method):
                return self._consume(fault)
        return None

    def take_ws_order_fault(self) -> RestFault | None:
        """The fault the next USD-M WS-API ``order.place`` suffers: an ``execute_then_*`` one
        aimed at order placement, or a refusing one whose ``path`` names the WS API."""
        for fault in self._rest:
            if fault.after_execute:
                hit = fault.matches(WS_FAPI_PATH, "POST")
            else:
                hit = (fault.kind in _WS_REFUSING_KINDS and fault.path is not None
                       and WS_FAPI_PATH.startswith(fault.path) and fault.path.startswith("/ws"))
            if hit:
                return self._consume(fault)
        return None

    def _consume(self, fault: RestFault) -> RestFault:
        fault.remaining -= 1
        if fault.remaining <= 0:
            self._rest.remove(fault)
        self.counters.rest_faults_served += 1
        self.counters.by_kind[fault.kind] = self.counters.by_kind.get(fault.kind, 0) + 1
        return fault

    @property
    def malformed_pending(self) -> bool:
        return self._malformed.remaining > 0

    def take_malformed(self) -> str | None:
        if self._malformed.remaining <= 0:
            return None
        self._malformed.remaining -= 1
        self.counters.malformed_sent += 1
        return self._malformed.mode

    def describe(self) -> dict[str, Any]:
        silent_for: float | str | None = None
        if self.is_silent():
            until = self._silent_until
            silent_for = "until cleared" if until == math.inf else round(
                (until or 0.0) - self._wall(), 3)
        return {
            "silent": silent_for,
            "rest": [{"kind": f.kind, "remaining": f.remaining, "status": f.status,
                      "path": f.path} for f in self._rest],
            "malformed_remaining": self._malformed.remaining,
            "user_silent": self.user_silent(),
            "user_duplicate_remaining": self._user_duplicate,
            "user_reorder_remaining": self._user_reorder,
            "clock_skew_ms": self.clock_skew_ms,
            "served": {"rest": self.counters.rest_faults_served,
                       "malformed": self.counters.malformed_sent,
                       "drops": self.counters.drops, "by_kind": dict(self.counters.by_kind)},
        }

    # -- admin spec ----------------------------------------------------------------------------

    def apply(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a JSON fault spec (the admin endpoint's body); returns a short receipt."""
        kind = spec.get("kind")
        try:
            return self._apply(kind, spec)
        except (TypeError, ValueError, KeyError) as e:
            if isinstance(e, FaultSpecError):
                raise
            raise FaultSpecError(f"bad parameters for {kind!r}: {e}") from e

    def _apply(self, kind: Any, spec: Mapping[str, Any]) -> dict[str, Any]:
        count = int(spec.get("count", 1))
        path = spec.get("path")
        if path is not None and not isinstance(path, str):
            raise FaultSpecError("path must be a string")
        if kind == "drop_ws":
            return {"kind": kind, "dropped": self.drop_ws(str(spec.get("mode", "abort")))}
        if kind == "silence":
            seconds = spec.get("seconds")
            self.silence(None if seconds is None else float(seconds))
        elif kind == "unsilence":
            self.unsilence()
        elif kind == "rest_429":
            self.rest_429(count, int(spec.get("retry_after", 1)), path)
        elif kind == "rest_418":
            self.rest_418(count, int(spec.get("retry_after", 120)), path)
        elif kind == "rest_1021":
            self.rest_1021(count, path)
        elif kind == "rest_5xx":
            status = spec.get("status")
            self.rest_5xx(count, str(spec.get("variant", "unknown")),
                          None if status is None else int(status), path)
        elif kind == "rest_delay":
            self.rest_delay(float(spec["seconds"]), count, path)
        elif kind == "malformed":
            self.malformed(count, str(spec.get("mode", "json")))
        elif kind == "clear":
            self.clear()
        else:
            return self._apply_more(kind, spec, count, path)
        return {"kind": kind, "ok": True}

    def _apply_more(self, kind: Any, spec: Mapping[str, Any], count: int,
                    path: str | None) -> dict[str, Any]:
        if kind == "rest_drop":
            self.rest_drop(count, path)
        elif kind == "execute_then_5xx":
            status = spec.get("status")
            self.execute_then_5xx(count, str(spec.get("variant", "unknown")),
                                  None if status is None else int(status), path)
        elif kind == "execute_then_delay":
            self.execute_then_delay(float(spec["seconds"]), count, path)
        elif kind == "execute_then_drop":
            self.execute_then_drop(count, path)
        elif kind == "clock_skew":
            self.set_clock_skew(int(spec["ms"]))
        else:
            return self._apply_user(kind, spec, count)
        return {"kind": kind, "ok": True}

    def _apply_user(self, kind: Any, spec: Mapping[str, Any], count: int) -> dict[str, Any]:
        if kind == "user_silence":
            seconds = spec.get("seconds")
            self.user_silence(None if seconds is None else float(seconds))
        elif kind == "user_unsilence":
            self.user_unsilence()
        elif kind == "user_duplicate":
            self.user_duplicate(count)
        elif kind == "user_reorder":
            self.user_reorder(count)
        elif kind == "user_drop":
            return {"kind": kind, "dropped": self.user_drop(str(spec.get("mode", "abort")))}
        elif kind == "listen_key_expire":
            key = spec.get("listen_key")
            expired = self.expire_listen_keys(None if key is None else str(key),
                                              bool(spec.get("e_as_string", False)))
            return {"kind": kind, "expired": expired}
        elif kind == "user_terminate":
            return {"kind": kind, "terminated": self.terminate_user_streams()}
        else:
            raise FaultSpecError(
                f"unknown fault kind {kind!r}; one of drop_ws, silence, unsilence, rest_429, "
                "rest_418, rest_1021, rest_5xx, rest_delay, rest_drop, malformed, "
                "execute_then_5xx, execute_then_delay, execute_then_drop, user_silence, "
                "user_unsilence, user_duplicate, user_reorder, user_drop, listen_key_expire, "
                "user_terminate, clock_skew, clear")
        return {"kind": kind, "ok": True}
