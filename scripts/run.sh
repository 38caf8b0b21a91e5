#!/usr/bin/env bash
# Set up and run the service with the example config (paper trading, SQLite, dashboard).
set -euo pipefail
source "$(dirname "$0")/_venv.sh" ""
[ -f binbot.toml ] || cp binbot.example.toml binbot.toml
exec .venv/bin/binbot run --config binbot.toml "$@"
