"""One line saying what a benchmark ran on, so that figures from different machines are not
compared blindly (the same code can run 2x faster on one VM than on another)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe() -> str:
    """``"AMD EPYC, 2 CPUs, CPython 3.11.7 (x86_64)"``: the CPU model when Linux tells it."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    cpu = model or platform.processor() or "unknown CPU"
    return (f"{cpu}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
            f"{platform.python_version()} ({platform.machine()})")
