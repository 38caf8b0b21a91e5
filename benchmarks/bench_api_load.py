"""API under load while a bot trades (issue 5): 100 concurrent API clients in another process use
the REST API of ``binbot run`` (in this process, one paper bot fed by the local exchange) the way
dashboards do: each client refreshes once a second (``--period``), cycling through the status,
bots, positions, trades, orders, equity and signals endpoints, starting at random offsets.
Prints the API's p50/p99 latency (target p99 <= 50 ms) and the bot's tick latency p99 without
and with the load (target: changes by less than 20%). ``--period 0`` hammers without pause
(then latency only measures the queue: concurrency / throughput).

To tell where a slow tick comes from, the benchmark times every read the API computes in a
worker thread (a read-cache miss) and splits the loaded ticks into those that overlapped one
and the others.

The two conditions alternate, ``--rounds`` times each (quiet, loaded, quiet, ...), and their
samples are pooled: on a shared machine a neighbour's burst then falls on both sides instead of
on one phase, and each p99 rests on twice the samples of a single 30 s phase.

Usage: python benchmarks/bench_api_load.py [--clients 100] [--period 1] [--seconds 20]
                                           [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import statistics
import sys
import time

from _service_probe import Probe, percentile, run_probe

from binbot.api import read_cache

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


class _RenderClock:
    """Records when the API's cached reads are computed (in worker threads)."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []
        self._call = read_cache._Keyed.__call__

    def __enter__(self) -> _RenderClock:
        call, spans = self._call, self.spans

        def timed(keyed: read_cache._Keyed, *args: object, **kwargs: object) -> bytes:
            start = time.perf_counter_ns()
            try:
                return call(keyed, *args, **kwargs)
            finally:
                spans.append((start, time.perf_counter_ns()))

        read_cache._Keyed.__call__ = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *_exc: object) -> None:
        read_cache._Keyed.__call__ = self._call  # type: ignore[method-assign]

    def split(self, probe: Probe) -> tuple[list[float], list[float]]:
        """The probe's tick latencies: (overlapping a render, not overlapping one)."""
        spans = sorted(self.spans)
        starts = [s for s, _ in spans]
        longest = max((e - s for s, e in spans), default=0)
        overlapping, clear = [], []
        for latency, end in zip(probe.decided, probe.decided_at, strict=True):
            begin = end - int(latency * 1000)
            first = bisect.bisect_left(starts, begin - longest)
            hit = any(s < end and e > begin for s, e in spans[first:bisect.bisect_right(
                starts, end)])
            (overlapping if hit else clear).append(latency)
        return overlapping, clear


def _idle() -> None:
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--period", type=float, default=1.0,
                        help="seconds between one client's requests (0: no pause)")
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--speed", type=float, default=600.0)
    parser.add_argument("--idle-clients", action="store_true",
                        help="run the client process under SCHED_IDLE (Linux): real dashboards "
                             "run elsewhere, here they share the service's 2 cores")
    args = parser.parse_args()
    latencies: list[float] = []
    errors = 0

    async def load(url: str, token: str, probe: Probe) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CLIENT, url, token, str(args.clients),
            str(args.seconds - 1), json.dumps(PATHS), str(args.period),
            stdout=asyncio.subprocess.PIPE, preexec_fn=_idle if args.idle_clients else None)
        out, _ = await process.communicate()
        nonlocal errors
        result = json.loads(out.decode().strip().splitlines()[-1])
        latencies.extend(result["latencies"])
        errors += result["errors"]

    quiet: list[float] = []
    loaded: list[float] = []
    overlapping: list[float] = []
    clear: list[float] = []
    renders = 0
    cpu = {"quiet": 0.0, "loaded": 0.0}
    for _ in range(args.rounds):
        for name, ticks, during in (("quiet", quiet, None), ("loaded", loaded, load)):
            with _RenderClock() as clock:
                probe = asyncio.run(run_probe(bots=1, speed=args.speed, seconds=args.seconds,
                                              api=True, during=during))
            ticks.extend(probe.decided)
            cpu[name] += probe.cpu_s
            if during is not None:
                over, rest = clock.split(probe)
                overlapping.extend(over)
                clear.extend(rest)
                renders += len(clock.spans)
    measured_s = args.seconds * args.rounds
    base, busy = percentile(quiet, 0.99), percentile(loaded, 0.99)
    print(f"binbot run (1 paper bot, dashboard/API on), local exchange at {args.speed:g}x, "
          f"{args.rounds} x {args.seconds:.0f} s per condition, alternating, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"API: {len(latencies):,} requests from {args.clients} concurrent clients"
          f"{' (SCHED_IDLE)' if args.idle_clients else ''}, one "
          f"request each every {args.period:g} s, "
          f"({len(latencies) / measured_s:,.0f}/s), errors {errors}, "
          f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms "
          "(target p99 <= 50 ms)")
    print(f"service CPU: {cpu['quiet'] / measured_s * 100:.0f}% of a core without load, "
          f"{cpu['loaded'] / measured_s * 100:.0f}% with it "
          f"({(cpu['loaded'] - cpu['quiet']) / max(1, len(latencies)) * 1e6:,.0f} us per request)")
    print(f"bot tick -> decision ({len(quiet):,} / {len(loaded):,} ticks): p50 "
          f"{percentile(quiet, 0.5):.0f} / {percentile(loaded, 0.5):.0f} us, p99 {base:.0f} us "
          f"without load, {busy:.0f} us with it ({(busy - base) / base * 100:+.0f}%, "
          "target within 20%)")
    print(f"  loaded ticks overlapping one of the {renders:,} reads computed in a worker thread: "
          f"{len(overlapping):,}, p50 {percentile(overlapping, 0.5):.0f} us, max "
          f"{max(overlapping, default=float('nan')):.0f} us; the other {len(clear):,}: "
          f"p99 {percentile(clear, 0.99):.0f} us")


if __name__ == "__main__":
    main()
