#!/usr/bin/env bash
# Install, build the demo territory in the embedded store and serve the web UI on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/regie demo "$@"
