"""scripts/_venv.sh picks the interpreter .venv is made with: BINBOT_PYTHON when set (refused,
loudly, when it is not a Python 3.11+), else the distribution's ``/usr/bin/python3`` when it is
3.11 or newer (an optimised build), else a python3.1x from PATH. ``--print-python`` shows the
choice without touching .venv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "_venv.sh"


def choice(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``_venv.sh --print-python`` with ``tmp_path/bin`` first on PATH."""
    full = {k: v for k, v in os.environ.items() if k != "BINBOT_PYTHON"}
    full.update(PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}", **env)
    return subprocess.run(["bash", str(SCRIPT), "--print-python"], env=full,
                          capture_output=True, text=True, timeout=60, check=False)


def fake_python(tmp_path: Path, name: str, version: tuple[int, int]) -> Path:
    """An executable ``name`` that answers the version check as Python ``version`` would."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    path = folder / name
    code = f"import sys; sys.exit({version!r} < (3, 11))"
    path.write_text(f"#!/bin/sh\nexec {sys.executable} -c '{code}'\n")
    path.chmod(0o755)
    return path


def test_binbot_python_comes_first(tmp_path: Path) -> None:
    chosen = fake_python(tmp_path, "mypython", (3, 12))
    done = choice(tmp_path, BINBOT_PYTHON=str(chosen))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(chosen)


def test_a_binbot_python_too_old_is_refused_not_passed_over(tmp_path: Path) -> None:
    old = fake_python(tmp_path, "oldpython", (3, 10))
    done = choice(tmp_path, BINBOT_PYTHON=str(old))
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"BINBOT_PYTHON={old} is not a Python 3.11 or newer" in done.stderr
    missing = choice(tmp_path, BINBOT_PYTHON=str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "is not a Python 3.11 or newer" in missing.stderr


def test_the_distributions_python_before_the_one_on_path(tmp_path: Path) -> None:
    fake_python(tmp_path, "python3", (3, 13))  # first on PATH, newer: still not chosen
    done = choice(tmp_path)
    assert done.returncode == 0, done.stderr
    system = Path("/usr/bin/python3")
    system_ok = system.exists() and subprocess.run(
        [str(system), "-c", "import sys; sys.exit(sys.version_info < (3, 11))"],
        check=False).returncode == 0
    if system_ok:  # Debian 12, Ubuntu 24.04, CI: the distribution's build wins
        assert done.stdout.strip() == str(system)
    else:  # none there, or older than 3.11: the next candidates, in the script's order
        assert done.stdout.strip() in {"/usr/bin/python3.13", "/usr/bin/python3.12",
                                       "/usr/bin/python3.11", "python3.13", "python3.12",
                                       "python3.11", "python3"}
