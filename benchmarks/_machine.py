"""One line saying what a benchmark ran on, so that figures from different machines are not
compared blindly (the same code can run 2x faster on one VM than on another, and a few percent
faster on a distribution's optimised interpreter than on a plain source build of the same
Python: the line names where the interpreter is installed)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def describe() -> str:
    """``"AMD EPYC, 2 CPUs, CPython 3.11.2 in /usr (x86_64)"``: the CPU model when Linux
    tells it, and the interpreter's installation (a virtualenv's base)."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    cpu = model or platform.processor() or "unknown CPU"
    return (f"{cpu}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
            f"{platform.python_version()} in {sys.base_prefix} ({platform.machine()})")
