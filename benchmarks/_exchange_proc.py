"""Start ``binbot exchange serve`` in its own process for benchmarks (so its CPU is not ours)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_exchange(data: list[Path], speed: float, *, start_ms: int | None = None,
                   anchor_ms: int | None = None, extra: list[str] | None = None
                   ) -> tuple[subprocess.Popen[bytes], int]:
    """``extra``: more ``--data`` items such as ``SYMBOL=FILE``."""
    port = free_port()
    command = [sys.executable, "-m", "binbot", "exchange", "serve", "--port", str(port),
               "--speed", str(speed), "--data", *map(str, data), *(extra or [])]
    if start_ms is not None:
        command += ["--start", str(start_ms)]
    if anchor_ms is not None:
        command += ["--anchor", str(anchor_ms)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the local exchange did not start")
