#!/usr/bin/env bash
# Install, then run the whole test suite (ruff + pytest). Tests that need PostgreSQL, Mosquitto or
# Chromium skip with a reason when those are missing, unless REGIE_REQUIRE_SERVICES=1 (CI) makes them fail.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
# Two workers (pytest-xdist), each module on one of them (tests/conftest.py): about half the wall time on CI's
# two cores. Add -n 0 to run in one process (e.g. to use pdb).
exec .venv/bin/pytest -n 2 --dist loadfile "$@"
