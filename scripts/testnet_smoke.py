#!/usr/bin/env python3
"""Smoke test of live trading on a Binance test venue: one minimal order, then its close.

It goes through the same path as a ``testnet`` bot in ``binbot run``: credentials from the
environment / ``.env`` (``BINBOT_BINANCE_TESTNET_API_KEY`` with ``..._API_SECRET`` or
``..._PRIVATE_KEY_FILE``), the signed client, the key-permission and symbol setup, the intent
journal (a temporary SQLite file), the user data stream, reconciliation and protective stops.
A tiny strategy buys the exchange's minimum, then closes it reduce-only.

    python scripts/testnet_smoke.py                     # USD-M testnet, BTCUSDT
    python scripts/testnet_smoke.py --venue demo        # USD-M demo trading
    python scripts/testnet_smoke.py --venue local --port 8765 --symbol FILUSDT

Without keys it prints why it skipped and exits 0. It never uses live (real money) keys.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

import aiohttp

from binbot.adapters.binance.endpoints import endpoints_for
from binbot.adapters.binance.rest import BinanceRestClient
from binbot.config.credentials import CredentialsError, load_credentials
from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.engine import BotCore
from binbot.services.live.session import LiveConfig, LiveSession
from binbot.storage.database import make_engine
from binbot.storage.migrate import upgrade
from binbot.storage.writer import Writer
from binbot.strategy import Strategy, StrategyParams


class SmokeParams(StrategyParams):
    quantity: Decimal = Decimal(0)


class BuyThenClose(Strategy):
    """Buy ``quantity`` at start; close as soon as the buy has filled."""

    name = "smoke"
    Params = SmokeParams
    params: SmokeParams

    def on_start(self) -> None:
        if self.position.side == "flat" and not self.state.get("bought"):
            self.state["bought"] = True
            self.buy(quantity=self.params.quantity, tag="smoke-open")

    def on_fill(self, fill: Fill) -> None:
        if self.position.side == "long":
            self.close(tag="smoke-close")


def minimum_quantity(step: Decimal, min_qty: Decimal, min_notional: Decimal,
                     price: Decimal) -> Decimal:
    """The smallest quantity above the minimum notional (with 10% room), on the step."""
    wanted = max(min_qty, min_notional * Decimal("1.1") / price)
    return (wanted / step).to_integral_value(rounding=ROUND_CEILING) * step


async def smoke(args: argparse.Namespace) -> int:
    try:
        load_credentials("testnet")
    except CredentialsError as e:
        print(f"skipped: no testnet keys ({e})")
        return 0
    endpoints = endpoints_for(args.venue, "127.0.0.1", args.port)
    async with aiohttp.ClientSession() as http:
        rest = BinanceRestClient(endpoints, session=http)
        instrument = next(i for i in await rest.instruments(Market.USDM)
                          if i.symbol == args.symbol)
        price = await rest.ticker_price(Market.USDM, args.symbol)
        quantity = minimum_quantity(instrument.step_size, instrument.min_qty,
                                    instrument.min_notional, price)
        print(f"{args.venue}: {args.symbol} at {price}; buying {quantity}, then closing it")
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'smoke.db'}")
            upgrade(engine)
            async with Writer(engine) as writer:
                session = await LiveSession.open(
                    LiveConfig(bot_id="smoke", mode="testnet", venue=args.venue,
                               instrument=instrument, local_port=args.port, leverage=1),
                    http=http, writer=writer, engine=engine)
                core = BotCore("smoke", instrument, "1m",
                               BuyThenClose({"quantity": str(quantity)}), session.execution,
                               capital=Decimal(1000))
                core.restore(await session.prepare_snapshot(None, core))
                core.on_price(int(time.time() * 1000), float(price))
                await session.start(core)
                deadline = time.monotonic() + args.timeout
                while time.monotonic() < deadline:
                    trades = list(core.portfolio.trades)
                    if len(trades) >= 2 and core.position.side == "flat":
                        break
                    await asyncio.sleep(0.2)
                await session.close()
            engine.dispose()
        for trade in core.portfolio.trades:
            print(f"  {trade.kind.value:11s} {trade.quantity} @ {trade.price}  fee {trade.fee}")
        if len(core.portfolio.trades) < 2 or core.position.side != "flat":
            print("FAILED: the order and its close did not both complete in time")
            return 1
        print("OK: opened and closed; position flat")
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venue", choices=("testnet", "demo", "local"), default="testnet")
    parser.add_argument("--port", type=int, default=8765, help="local exchange port")
    parser.add_argument("--symbol", default="BTCUSDT")
    parser.add_argument("--timeout", type=float, default=60.0)
    return asyncio.run(smoke(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
