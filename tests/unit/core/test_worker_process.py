"""A pool worker started with ``exit_with_parent`` ends when its parent is killed; without
it the worker blocks for ever (the leak this guards against)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import psutil
import pytest

SCRIPT = textwrap.dedent("""
    import multiprocessing, os, signal, sys
    from concurrent.futures import ProcessPoolExecutor

    from binbot.core.worker_process import exit_with_parent

    if __name__ == "__main__":
        guarded = sys.argv[1] == "guarded"
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context(
            sys.argv[2]), initializer=exit_with_parent if guarded else None)
        print(pool.submit(os.getpid).result(), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no shutdown handshake with the worker
""")

RUNNER_SCRIPT = textwrap.dedent("""
    import asyncio, multiprocessing, os, signal

    from binbot.api.backtest_jobs import BacktestJob, BacktestRunner

    async def main() -> None:
        runner = BacktestRunner()
        job = BacktestJob(database_url="sqlite:////nonexistent/binbot.db", strategy="boll",
                          params={}, market="usdm", symbol="FILUSDT", interval="15m",
                          start_ms=0, end_ms=86_400_000, mode="bar_close", capital=None)
        try:
            await runner.run(job)
        except Exception:
            pass  # no such database: the worker is started and stays for the next job
        (worker,) = multiprocessing.active_children()
        print(worker.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    if __name__ == "__main__":
        asyncio.run(main())
""")


def _worker_of(script: str, *args: str) -> int:
    """Run ``script``; return the pid it prints (its worker's) once it has killed itself.
    Not ``subprocess.run``: an orphaned worker keeps the output pipe open, no end-of-file."""
    with subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                          text=True) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert proc.wait(timeout=60) == -9  # it killed itself
        proc.stdout.close()
    return int(line)


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_a_guarded_worker_ends_with_its_killed_parent(method: str) -> None:
    assert _gone(_worker_of(SCRIPT, "guarded", method), within=15)


def test_an_unguarded_worker_outlives_its_killed_parent() -> None:
    pid = _worker_of(SCRIPT, "unguarded", "spawn")
    try:
        assert not _gone(pid, within=2)
    finally:
        psutil.Process(pid).kill()


def test_the_dashboard_backtest_worker_ends_with_a_killed_server() -> None:
    assert _gone(_worker_of(RUNNER_SCRIPT), within=15)
