"""Local exchange WebSocket throughput to one loopback client.

Runs the exchange (in its own process by default, as in real use) at high replay speed and a
plain aiohttp client reading one combined spot stream: aggTrade + kline_1m + bookTicker for three
symbols. Prints messages per second received (target >= 30,000).

    .venv/bin/python benchmarks/bench_ws_loopback.py [--seconds 5] [--speed 300000]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from binbot.exchange.hub import HubOptions
from binbot.exchange.server import ExchangeOptions, LocalExchange

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "klines" / "binance-um-1m"
FILES = [DATA / f"{s}-1m-2024-02.csv.gz" for s in ("FILUSDT", "AVAXUSDT", "ALGOUSDT")]
# At these speeds 24 virtual hours pass in well under a second: lift the virtual lifetime cut.
WS = HubOptions(virtual_lifetime_ms=10**15)
STREAMS = [f"{s}@{k}" for s in ("filusdt", "avaxusdt", "algousdt")
           for k in ("aggTrade", "kline_1m", "bookTicker")]
# No message for this long: the replay has reached the end of its month (at 300,000x a month
# lasts about 8.6 s), where the stream goes quiet rather than closing.
QUIET_S = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def serve(port: int, speed: float) -> None:
    exchange = LocalExchange(ExchangeOptions(data_files=FILES, speed=speed, port=port, ws=WS))
    await exchange.start()
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await exchange.stop()


async def read(port: int, seconds: float, warmup: float) -> tuple[int, float, int]:
    """(messages, seconds, bytes) received after ``warmup`` for ``seconds``, or until the
    replay runs out of data (the stream then goes quiet: measured up to its last message)."""
    url = f"ws://127.0.0.1:{port}/stream?streams=" + "/".join(STREAMS)
    count = 0
    size = 0
    async with aiohttp.ClientSession() as session, session.ws_connect(
            url, max_msg_size=0) as ws:
        warm_end = time.perf_counter() + warmup
        while time.perf_counter() < warm_end:
            await ws.receive(timeout=QUIET_S)
        start = last = time.perf_counter()
        end = start + seconds
        while True:
            try:
                msg = await ws.receive(timeout=QUIET_S)
            except TimeoutError:
                print(f"the replay ran out of data after {last - start:.1f} s "
                      f"(lower --speed or --seconds to measure longer)")
                break
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"stream ended: {msg.type}")
            count += 1
            size += len(msg.data)
            if count % 256 == 0:
                last = time.perf_counter()
                if last >= end:
                    break
        elapsed = last - start
    return count, elapsed, size


async def in_process(seconds: float, speed: float) -> tuple[int, float, int]:
    exchange = LocalExchange(ExchangeOptions(data_files=FILES, speed=speed, ws=WS))
    await exchange.start()
    try:
        return await read(exchange.port, seconds, 1.0)
    finally:
        await exchange.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--speed", type=float, default=300_000.0)
    parser.add_argument("--in-process", action="store_true",
                        help="run server and client in one event loop (one core)")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve, args.speed))
        return 0
    if args.in_process:
        count, elapsed, size = asyncio.run(in_process(args.seconds, args.speed))
        mode = "one process"
    else:
        port = free_port()
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port),
                                   "--speed", str(args.speed)], stdout=subprocess.PIPE,
                                  text=True)
        try:
            assert server.stdout is not None
            if server.stdout.readline().strip() != "ready":
                raise RuntimeError("the exchange did not start")
            count, elapsed, size = asyncio.run(read(port, args.seconds, 1.0))
        finally:
            server.terminate()
            server.wait(10)
        mode = "server and client in separate processes"
    rate = count / elapsed
    print(f"local exchange -> aiohttp client, {len(STREAMS)} streams combined ({mode}), "
          f"speed {args.speed:g}x")
    print(f"{count} messages in {elapsed:.2f} s: {rate:,.0f} messages/s, "
          f"{size / elapsed / 1e6:.1f} MB/s (target >= 30,000 messages/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
