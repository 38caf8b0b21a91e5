"""``exit_with_parent``: a pool worker process that ends when the process that started it ends.

A ``ProcessPoolExecutor`` worker waits for its next task on a pipe whose write end it holds
itself (spawned workers are handed both ends, forked ones inherit them), so it never reads
end-of-file: when its parent dies without the pool's shutdown handshake (killed, or gone
while the worker was busy), the worker blocks for ever, holding its memory (a backtest worker
of ``binbot serve``: ~190 MB on every restart). Run as the pool's initializer, this watches
the parent's sentinel, which the OS closes when the parent ends, from a daemon thread.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading


def exit_with_parent() -> None:
    """In a worker process: end this process as soon as its parent has ended."""
    parent = multiprocessing.parent_process()
    if parent is None:  # not a multiprocessing child (the sweep's one-worker path)
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        # Nobody is left to receive a result; exit without running cleanup that may wait
        # on the very pipes that can no longer be read (a half-done task is abandoned).
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
