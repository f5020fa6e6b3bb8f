#!/usr/bin/env bash
# Install, then run the whole test suite (ruff + pytest). Tests that need PostgreSQL, Mosquitto or
# Chromium skip with a reason when those are missing, unless REGIE_REQUIRE_SERVICES=1 (CI) makes them fail.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
exec .venv/bin/pytest "$@"
