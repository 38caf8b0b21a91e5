"""``binbot exchange serve``: run the local Binance-compatible exchange until SIGINT/SIGTERM.

Accounts (signed trading endpoints, user data streams): ``--account KEY:SECRET`` (HMAC),
``--ed25519-key KEY:PUBKEY.pem``, or ``--accounts-file accounts.json`` (a JSON list of objects
with ``api_key``, ``hmac_secret`` / ``ed25519_public_key_pem`` / ``ed25519_public_key_file``,
``balances``, ``futures_balances``, ``permissions``); ``--balance USDT=10000`` seeds the
accounts given on the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from binbot.cli.common import CommandError, configure_console_logging
from binbot.exchange.accounts import (
    AccountSpec,
    AccountSpecError,
    check_unique,
    load_accounts_file,
    parse_balances,
    parse_ed25519_account,
    parse_hmac_account,
)
from binbot.exchange.hub import HubOptions
from binbot.exchange.klinedata import KlineFileError
from binbot.exchange.server import ExchangeOptions, LocalExchange, is_loopback

log = logging.getLogger("binbot.exchange")


def parse_time_ms(text: str) -> int:
    """Epoch milliseconds, or an ISO 8601 date/time (UTC unless it says otherwise)."""
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected epoch milliseconds or an ISO date/time, was {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _data_arg(text: str) -> tuple[Path, str | None]:
    """``FILE`` or ``SYMBOL=FILE``."""
    symbol, sep, path = text.partition("=")
    if sep and symbol.isalnum():
        return Path(path), symbol.upper()
    return Path(text), None


def accounts_from_args(args: argparse.Namespace) -> list[AccountSpec]:
    """The accounts of ``--account``, ``--ed25519-key`` and ``--accounts-file``."""
    try:
        balances = parse_balances(args.balance) if args.balance else None
        specs = [parse_hmac_account(text, balances) for text in args.account]
        specs += [parse_ed25519_account(text, balances) for text in args.ed25519_key]
        if args.accounts_file is not None:
            specs += load_accounts_file(args.accounts_file)
        check_unique(specs)
    except AccountSpecError as e:
        raise CommandError(str(e)) from e
    return specs


def options_from_args(args: argparse.Namespace) -> ExchangeOptions:
    if not is_loopback(args.host) and not args.allow_public:
        raise CommandError(f"refusing to listen on {args.host}: the local exchange is a test "
                           "tool; pass --allow-public to expose it anyway")
    files: list[Path] = []
    symbols: dict[str, str] = {}
    for path, symbol in args.data:
        if not path.is_file():
            raise CommandError(f"data file not found: {path}")
        files.append(path)
        if symbol is not None:
            symbols[str(path)] = symbol
    if args.speed <= 0:
        raise CommandError(f"--speed must be positive, was {args.speed}")
    if args.listen_key_validity <= 0:
        raise CommandError("--listen-key-validity must be positive")
    return ExchangeOptions(
        data_files=files, speed=args.speed, host=args.host, port=args.port,
        start_ms=args.start, anchor_wall_ms=args.anchor, symbols=symbols or None,
        allow_public=args.allow_public,
        ws=HubOptions(ping_interval_s=args.ping_interval, pong_timeout_s=args.pong_timeout,
                      max_lifetime_s=args.max_connection_lifetime),
        accounts=accounts_from_args(args), clock_skew_ms=args.clock_skew_ms,
        signing_clock=args.signing_clock,
        listen_key_validity_s=args.listen_key_validity,
    )


async def _serve(options: ExchangeOptions) -> None:
    exchange = LocalExchange(options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await exchange.start()
    except KlineFileError as e:
        raise CommandError(str(e)) from e
    except OSError as e:
        raise CommandError(f"cannot listen on {options.host}:{options.port}: {e}") from e
    clock = exchange.clock
    log.info("REST  %s/fapi/v1/...  %s/api/v3/...", exchange.base_url, exchange.base_url)
    log.info("WS    %s/market/ws/<stream>  %s/public/ws/<stream>  %s/ws/<stream> (spot)",
             exchange.ws_url, exchange.ws_url, exchange.ws_url)
    if options.accounts:
        log.info("user data  %s/private/ws?listenKey=<key>  %s/ws-api/v3 (spot); %d account(s)",
                 exchange.ws_url, exchange.ws_url, len(options.accounts))
    log.info("virtual start %s, anchor %d (pass --start %d --anchor %d to resume this market)",
             datetime.fromtimestamp(clock.start_ms / 1000, UTC).isoformat(),
             clock.anchor_wall_ms, clock.start_ms, clock.anchor_wall_ms)
    try:
        await stop.wait()
    finally:
        log.info("stopping the local exchange")
        await exchange.stop()


def _run(args: argparse.Namespace) -> int:
    configure_console_logging(args.verbose)
    options = options_from_args(args)
    asyncio.run(_serve(options))
    return 0


def register(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    exchange = subparsers.add_parser("exchange", help="the local Binance-compatible exchange")
    actions = exchange.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve", parents=[parent],
        help="replay kline files as a live market over Binance's REST and WebSocket APIs")
    serve.add_argument("--data", type=_data_arg, nargs="+", required=True, metavar="FILE",
                       help="Binance archive 1m kline files (.csv, .csv.gz, .zip); the symbol "
                            "comes from the name (FILUSDT-1m-2025-04.csv.gz) or SYMBOL=FILE")
    serve.add_argument("--speed", type=float, default=1.0,
                       help="virtual seconds per wall second (default 1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any)")
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--allow-public", action="store_true",
                       help="allow a non-loopback --host")
    serve.add_argument("--start", type=parse_time_ms, default=None,
                       help="virtual start, ISO date/time or epoch ms (default: first candle)")
    serve.add_argument("--anchor", type=int, default=None,
                       help="wall-clock epoch ms at which the virtual clock was --start "
                            "(default: now); reuse it to resume after a restart")
    serve.add_argument("--ping-interval", type=float, default=None,
                       help="WebSocket server ping interval in seconds (default: Binance's)")
    serve.add_argument("--pong-timeout", type=float, default=None,
                       help="disconnect when a ping is unanswered this long (default: Binance's)")
    serve.add_argument("--max-connection-lifetime", type=float, default=None,
                       help="cut WebSocket connections after this many wall seconds "
                            "(in addition to 24 h of virtual time)")
    accounts = serve.add_argument_group(
        "accounts", "API keys for the signed endpoints (orders, positions, user data streams)")
    accounts.add_argument("--account", action="append", default=[], metavar="KEY:SECRET",
                          help="an HMAC-SHA256 API key and its secret (repeatable)")
    accounts.add_argument("--ed25519-key", action="append", default=[],
                          metavar="KEY:PUBKEYFILE",
                          help="an Ed25519 API key and the PEM file of its public key "
                               "(repeatable)")
    accounts.add_argument("--accounts-file", type=Path, default=None, metavar="FILE",
                          help="JSON list of accounts: api_key, hmac_secret or "
                               "ed25519_public_key_file, balances, futures_balances, "
                               "permissions (apiRestrictions fields)")
    accounts.add_argument("--balance", action="append", default=[], metavar="ASSET=AMOUNT",
                          help="starting balance of the --account/--ed25519-key accounts, spot "
                               "and USD-M wallets alike (repeatable; default USDT=10000)")
    accounts.add_argument("--clock-skew-ms", type=int, default=0,
                          help="signed timestamps are checked against the wall clock plus "
                               "this (ms); the market itself runs on the virtual clock")
    accounts.add_argument("--signing-clock", choices=("wall", "virtual"), default="wall",
                          help="clock signed timestamps are checked against: wall (default, "
                               "as a client's clock is) or virtual (the replay clock /time "
                               "serves; use with --speed 1)")
    accounts.add_argument("--listen-key-validity", type=float, default=3600.0,
                          metavar="SECONDS",
                          help="USD-M listenKey lifetime after its last keep-alive, wall "
                               "seconds (default 3600, as Binance)")
    serve.set_defaults(func=_run)
