#!/usr/bin/env bash
# Set up and run the test suite (offline; PostgreSQL tests run when BINBOT_TEST_POSTGRES_URL is set).
set -euo pipefail
source "$(dirname "$0")/_venv.sh" "[test]"
.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/mypy
exec .venv/bin/pytest "$@"
