"""``binbot bots create|list|start|stop|rm|stats``: steer the running service over its REST API.

The address comes from the config (``api.host``/``api.port``), the token from ``api.token`` or
``<data_dir>/api_token`` (the service writes it there on its first start); ``--url`` and
``BINBOT_API_TOKEN`` override them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from decimal import Decimal
from typing import Any, Final

import aiohttp
from rich.console import Console
from rich.table import Table
from rich.text import Text

from binbot.cli.common import CommandError, settings_from_args
from binbot.config import Settings

BOTS: Final = "/api/v1/bots"
TOKEN_ENV: Final = "BINBOT_API_TOKEN"  # noqa: S105 - a variable name
_TIMEOUT_S: Final = 30.0


def api_base(settings: Settings) -> str:
    host = settings.api.host
    if host in ("0.0.0.0", "::", "localhost", ""):  # noqa: S104 - a bind-all address, reached locally
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.api.port}"


def api_token(settings: Settings) -> str | None:
    """The token from the environment, the config or the data dir (never created here)."""
    from binbot.api.token_store import TOKEN_FILE

    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV]
    if settings.api.token is not None and settings.api.token.get_secret_value():
        return settings.api.token.get_secret_value()
    path = settings.data_dir / TOKEN_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip() or None
    return None


async def call_api(base: str, token: str | None, method: str, path: str,
                   body: dict[str, Any] | None = None,
                   params: dict[str, str] | None = None) -> Any:
    """One request; ``CommandError`` with the service's own reason on any failure."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    timeout = aiohttp.ClientTimeout(total=_TIMEOUT_S)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, base + path, json=body, headers=headers,
                            params=params) as response,
        ):
            text = await response.text()
            status = response.status
    except (aiohttp.ClientConnectorError, OSError) as e:
        raise CommandError(
            f"the service is not running or its API is not reachable at {base} ({e}); start "
            "it with `binbot run`") from None
    except (aiohttp.ClientError, TimeoutError) as e:
        raise CommandError(f"no answer from {base} ({type(e).__name__})") from None
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if status == 401:
        raise CommandError("the API refused the token: set api.token in the config, or "
                           f"{TOKEN_ENV}, to the service's token")
    if status >= 400:
        detail = data.get("detail") if isinstance(data, dict) else None
        raise CommandError(f"HTTP {status}: {detail or text[:300] or 'error'}")
    return data


def _key_values(items: list[str] | None, what: str) -> dict[str, Any]:
    """``name=value`` pairs; values are read as JSON when they parse (numbers, booleans)."""
    result: dict[str, Any] = {}
    for item in items or []:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise CommandError(f"{what} must be given as name=value, was {item!r}")
        try:
            result[name] = json.loads(raw)
        except ValueError:
            result[name] = raw
    return result


def _money(value: object) -> str:
    if value is None:
        return "–"
    try:
        return f"{Decimal(str(value)):,.2f}"
    except ArithmeticError:
        return str(value)


def _signed(value: object) -> Text:
    if value is None:
        return Text("–")
    number = Decimal(str(value))
    style = "green" if number > 0 else "red" if number < 0 else ""
    return Text(("+" if number > 0 else "") + f"{number:,.2f}", style=style)


def _pct(value: object) -> str:
    return "–" if value is None else f"{float(str(value)) * 100:+.2f}%"


def _status(value: str) -> Text:
    styles = {"running": "green", "paused": "yellow", "halted": "bold red", "stopped": "dim"}
    return Text(value, style=styles.get(value, ""))


def render_bots(console: Console, bots: list[dict[str, Any]]) -> None:
    if not bots:
        console.print("no bots; create one with `binbot bots create`")
        return
    table = Table(title="bots", title_justify="left")
    table.add_column("bot", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("strategy")
    table.add_column("market")
    for name in ("capital", "equity", "PnL", "trades", "win", "position"):
        table.add_column(name, justify="right")
    for b in bots:
        equity = b.get("equity")
        pnl = None if equity is None else Decimal(equity) - Decimal(b["capital"])
        rate = b.get("win_rate")
        table.add_row(
            b["bot_id"], _status(b["status"]), b["strategy"],
            f"{b['symbol']} {b['interval']} {b['mode']}", _money(b["capital"]), _money(equity),
            _signed(pnl), str(b["trades"]), "–" if rate is None else f"{rate * 100:.0f}%",
            b.get("position_qty") or "–")
    console.print(table)


def render_stats(console: Console, s: dict[str, Any]) -> None:
    table = Table(title=f"bot {s['bot_id']}", title_justify="left", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    position = s["position"]
    rate = s["win_rate"]
    rows: list[tuple[str, str | Text]] = [
        ("status", _status(s["status"])),
        ("strategy", f"{s['strategy']} on {s['symbol']} ({s['mode']})"),
        ("capital", _money(s["capital"])),
        ("equity", _money(s["equity"])),
        ("realized PnL", _signed(s["realized_pnl"])),
        ("unrealized PnL", _signed(s["unrealized_pnl"])),
        ("total PnL", _signed(s["total_pnl"])),
        ("trades", f"{s['trades']} ({s['winning_trades']} won)"),
        ("win rate", "–" if rate is None else f"{rate * 100:.1f}%"),
        ("position", "flat" if position["side"] == "flat"
         else f"{position['side']} {position['quantity']} @ {position['entry_price']}"),
        ("return today", _pct(s["daily_return"])),
        ("return this month", _pct(s["monthly_return"])),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    events = s.get("risk_events") or []
    if events:
        risk = Table(title="latest risk events", title_justify="left")
        for name in ("time (ms)", "rule", "action", "reason"):
            risk.add_column(name)
        for e in events[-10:]:
            risk.add_row(str(e["time_ms"]), e["rule"], e["action"], e["reason"])
        console.print(risk)


def _create_body(args: argparse.Namespace) -> dict[str, Any]:
    params = _key_values(args.param, "--param")
    if args.params_json:
        try:
            loaded = json.loads(args.params_json)
        except ValueError as e:
            raise CommandError(f"--params-json is not JSON: {e}") from None
        if not isinstance(loaded, dict):
            raise CommandError("--params-json must be a JSON object")
        params = {**loaded, **params}
    body: dict[str, Any] = {
        "bot_id": args.bot_id, "symbol": args.symbol.upper(), "strategy_name": args.strategy,
        "strategy_params": params, "capital": args.capital, "market": args.market,
        "interval": args.interval, "leverage": args.leverage, "mode": args.mode,
        "risk": _key_values(args.risk, "--risk"), "auto_start": not args.no_start,
    }
    if args.risk_per_trade is not None:
        body["risk_per_trade"] = args.risk_per_trade
    return body


async def _execute(args: argparse.Namespace, console: Console) -> int:
    settings = settings_from_args(args)
    base = (args.url or api_base(settings)).rstrip("/")
    token = api_token(settings)

    async def call(method: str, path: str, body: dict[str, Any] | None = None,
                   params: dict[str, str] | None = None) -> Any:
        return await call_api(base, token, method, path, body, params)

    action = args.action
    if action == "list":
        render_bots(console, await call("GET", f"{BOTS}/"))
        summary = await call("GET", f"{BOTS}/portfolio/summary")
        rate = summary["win_rate"]
        console.print(
            f"capital {_money(summary['total_capital'])} · equity "
            f"{_money(summary['total_equity'])} · PnL ", _signed(summary["combined_pnl"]),
            f" · {summary['total_trades']} trades"
            + ("" if rate is None else f" · win rate {rate * 100:.1f}%"))
    elif action == "create":
        made = await call("POST", f"{BOTS}/create", _create_body(args))
        console.print(f"created bot {made['bot_id']} ({made['status']})")
    elif action in ("start", "stop"):
        if args.all:
            render_bots(console, await call("POST", f"{BOTS}/{action}-all"))
        elif args.bot_id:
            view = await call("POST", f"{BOTS}/{args.bot_id}/{action}")
            console.print(f"bot {view['bot_id']}: ", _status(view["status"]))
        else:
            raise CommandError(f"name a bot, or --all to {action} every bot")
    elif action == "rm":
        await call("DELETE", f"{BOTS}/{args.bot_id}",
                   params={"force": "true"} if args.force else None)
        console.print(f"removed bot {args.bot_id}")
    elif action == "stats":
        render_stats(console, await call("GET", f"{BOTS}/{args.bot_id}/stats"))
    return 0


def _run(args: argparse.Namespace) -> int:
    return asyncio.run(_execute(args, Console()))


def register(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False, parents=[parent])
    common.add_argument("--url", default=None,
                        help="the service's API (default: from api.host and api.port)")
    bots = subparsers.add_parser("bots", help="create, list, start, stop, remove bots")
    actions = bots.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser("create", parents=[common], help="create a bot")
    create.add_argument("bot_id", help="1-32 of A-Z a-z 0-9 _ -")
    create.add_argument("--symbol", required=True, help="e.g. BTCUSDT")
    create.add_argument("--strategy", required=True,
                        help="boll, rsi, macd_turtle or ma_cross")
    create.add_argument("--capital", required=True, help="the bot's budget, e.g. 1000")
    create.add_argument("--param", action="append", metavar="NAME=VALUE",
                        help="a strategy parameter (repeat)")
    create.add_argument("--params-json", default=None, help="strategy parameters as JSON")
    create.add_argument("--market", choices=("usdm", "spot"), default="usdm")
    create.add_argument("--interval", default="15m")
    create.add_argument("--leverage", type=int, default=1)
    create.add_argument("--mode", choices=("paper", "testnet", "live"), default="paper")
    create.add_argument("--risk", action="append", metavar="NAME=VALUE",
                        help="a risk limit, e.g. max_drawdown_pct=10 (repeat)")
    create.add_argument("--risk-per-trade", type=float, default=None,
                        help="for strategies sizing by it (macd_turtle)")
    create.add_argument("--no-start", action="store_true", help="create it stopped")

    actions.add_parser("list", parents=[common], help="the bots and the portfolio totals")
    for name, text in (("start", "start a bot (or --all)"), ("stop", "stop a bot (or --all)")):
        sub = actions.add_parser(name, parents=[common], help=text)
        sub.add_argument("bot_id", nargs="?")
        sub.add_argument("--all", action="store_true", help=f"{name} every bot")
    rm = actions.add_parser("rm", parents=[common], help="stop and delete a bot and its records")
    rm.add_argument("bot_id")
    rm.add_argument("--force", action="store_true", help="even with an open position")
    stats = actions.add_parser("stats", parents=[common], help="a bot's statistics")
    stats.add_argument("bot_id")
    bots.set_defaults(func=_run)
