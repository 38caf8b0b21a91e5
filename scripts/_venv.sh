# Shared by run.sh and test.sh: make sure .venv exists and holds binbot with the given extras.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "python3-venv is missing; installing it (needs sudo)" >&2
  sudo apt-get update -q && sudo apt-get install -y -q python3-venv
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
.venv/bin/pip install -q -e ".${1:-}"
