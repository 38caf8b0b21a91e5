"""Host and process health via psutil (blocking calls: run ``snapshot`` in a worker thread)."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import psutil

from binbot.api.schemas.system import SystemOut


def _disk_path(data_dir: Path) -> str:
    path = data_dir.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return str(path)


def snapshot(data_dir: Path, db_file: Path | None, process: psutil.Process) -> SystemOut:
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(_disk_path(data_dir))
    now = time.time()
    with process.oneshot():
        rss = process.memory_info().rss
        proc_cpu = process.cpu_percent(interval=None)
        created = process.create_time()
        threads = process.num_threads()
    db_size: int | None = None
    if db_file is not None:
        try:
            db_size = sum(p.stat().st_size for p in
                          (db_file, db_file.with_name(db_file.name + "-wal")) if p.exists())
        except OSError:
            db_size = None
    boot = psutil.boot_time()
    return SystemOut(
        cpu_percent=psutil.cpu_percent(interval=None),
        cpu_count=psutil.cpu_count() or 1,
        load_avg=[round(x, 2) for x in os.getloadavg()],
        memory_total=memory.total, memory_used=memory.total - memory.available,
        memory_percent=memory.percent,
        disk_total=disk.total, disk_used=disk.used, disk_percent=disk.percent,
        boot_time_s=boot, system_uptime_s=now - boot,
        process_rss=rss, process_cpu_percent=proc_cpu, process_uptime_s=now - created,
        process_threads=threads, db_size_bytes=db_size,
        python=platform.python_version(),
    )
