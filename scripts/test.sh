#!/usr/bin/env bash
# Install, then run the whole test suite (ruff + pytest). Tests that need PostgreSQL, Mosquitto or
# Chromium skip with a reason when those are missing, unless REGIE_REQUIRE_SERVICES=1 (CI) makes them fail.
# pytest runs on two workers (pytest-xdist, `-n 2 --dist loadfile`: each module whole on one worker, the longest
# modules first as tests/conftest.py orders them, hence `--no-loadscope-reorder`) unless the arguments already
# choose (`-n ...`, `--numprocesses ...`, or `-p no:xdist` for one process).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
parallel=(-n 2 --dist loadfile --no-loadscope-reorder)
for arg in "$@"; do
  case "$arg" in
    -n | -n* | --numprocesses | --numprocesses=* | no:xdist | -pno:xdist) parallel=() ;;
  esac
done
exec .venv/bin/pytest "${parallel[@]}" "$@"
