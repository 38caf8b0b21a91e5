"""API under load while a bot trades (issue 5): 100 concurrent API clients in another process use
the REST API of ``binbot run`` (in this process, one paper bot fed by the local exchange) the way
dashboards do: each client refreshes once a second (``--period``), cycling through the status,
bots, positions, trades, orders, equity and signals endpoints, starting at random offsets.
Prints the API's p50/p99 latency (target p99 <= 50 ms) and the bot's tick latency p99 without
and with the load (target: changes by less than 20%). ``--period 0`` hammers without pause
(then latency only measures the queue: concurrency / throughput).

Usage: python benchmarks/bench_api_load.py [--clients 100] [--period 1] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys

from _service_probe import Probe, percentile, run_probe

PATHS = ("/api/v1/status", "/api/v1/bots", "/api/v1/positions", "/api/v1/trades?limit=50",
         "/api/v1/orders?limit=50", "/api/v1/equity", "/api/v1/signals?limit=50")

CLIENT = r"""
import asyncio, json, sys, time
import aiohttp

async def main(url, token, clients, seconds, paths, period):
    latencies, errors = [], 0
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession(headers=headers,
                                     connector=aiohttp.TCPConnector(limit=clients)) as session:
        async def client(i):
            nonlocal errors
            k = i
            await asyncio.sleep(period * i / clients)  # spread the clients over a period
            while time.monotonic() < deadline:
                started = time.monotonic()
                path = paths[k % len(paths)]
                k += 1
                start = time.perf_counter()
                try:
                    async with session.get(url + path) as response:
                        await response.read()
                        if response.status != 200:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1
                latencies.append((time.perf_counter() - start) * 1000)
                if period:
                    await asyncio.sleep(max(0.0, period - (time.monotonic() - started)))
        await asyncio.gather(*(client(i) for i in range(clients)))
    print(json.dumps({"latencies": latencies, "errors": errors}))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]),
                 json.loads(sys.argv[5]), float(sys.argv[6])))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--period", type=float, default=1.0,
                        help="seconds between one client's requests (0: no pause)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--speed", type=float, default=600.0)
    args = parser.parse_args()
    api_result: dict[str, object] = {}

    async def load(url: str, token: str, probe: Probe) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CLIENT, url, token, str(args.clients),
            str(args.seconds - 1), json.dumps(PATHS), str(args.period),
            stdout=asyncio.subprocess.PIPE)
        out, _ = await process.communicate()
        api_result.update(json.loads(out.decode().strip().splitlines()[-1]))

    quiet = asyncio.run(run_probe(bots=1, speed=args.speed, seconds=args.seconds, api=True))
    loaded = asyncio.run(run_probe(bots=1, speed=args.speed, seconds=args.seconds, api=True,
                                   during=load))
    latencies = api_result["latencies"]
    assert isinstance(latencies, list)
    base, busy = percentile(quiet.decided, 0.99), percentile(loaded.decided, 0.99)
    print(f"binbot run (1 paper bot, dashboard/API on), local exchange at {args.speed:g}x, "
          f"{args.seconds:.0f} s per phase, load average {os.getloadavg()[0]:.1f}")
    print(f"API: {len(latencies):,} requests from {args.clients} concurrent clients, one "
          f"request each every {args.period:g} s, "
          f"({len(latencies) / args.seconds:,.0f}/s), errors {api_result['errors']}, "
          f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms "
          "(target p99 <= 50 ms)")
    print(f"bot tick -> decision p99: {base:.0f} us without load, {busy:.0f} us with it "
          f"({(busy - base) / base * 100:+.0f}%, target within 20%)")


if __name__ == "__main__":
    main()
