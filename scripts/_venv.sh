# shellcheck shell=bash
# Shared by run.sh and test.sh: make sure .venv exists (Python >= 3.11) and holds binbot with
# the given extras.
set -euo pipefail
cd "$(dirname "$0")/.."

# The distribution's interpreter comes first: Debian and Ubuntu build theirs with profile-guided
# and link-time optimisation, and it runs binbot's backtests about 7 % faster than a build
# made without them (pyenv's default; measured with benchmarks/bench_backtest.py on the same
# machine). BINBOT_PYTHON names another one.
python_ok() {
  command -v "$1" >/dev/null 2>&1 &&
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

find_python() {
  for candidate in ${BINBOT_PYTHON:+"$BINBOT_PYTHON"} /usr/bin/python3 /usr/bin/python3.13 \
      /usr/bin/python3.12 /usr/bin/python3.11 python3.13 python3.12 python3.11 python3; do
    if python_ok "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [ -n "${BINBOT_PYTHON:-}" ] && ! python_ok "$BINBOT_PYTHON"; then
  echo "BINBOT_PYTHON=$BINBOT_PYTHON is not a Python 3.11 or newer" >&2
  exit 1
fi

if [ "${1:-}" = "--print-python" ]; then  # which interpreter .venv would be made with
  find_python
  exit
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x .venv/bin/python ]; then
  python="$(find_python || true)"
  if [ -z "$python" ]; then
    # Ubuntu 22.04 ships Python 3.10; its python3.11 package is in the standard archive.
    echo "binbot needs Python >= 3.11; installing python3.11 (needs sudo)" >&2
    as_root apt-get update -q && as_root apt-get install -y -q python3.11 python3.11-venv
    python=python3.11
  fi
  if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    package="$(basename "$python")-venv"  # python3-venv, python3.11-venv, ...
    echo "the venv module is missing; installing $package (needs sudo)" >&2
    as_root apt-get update -q && as_root apt-get install -y -q "$package"
  fi
  "$python" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
.venv/bin/pip install -q -e ".${1:-}"
