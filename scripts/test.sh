#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every
# test (unit, integration against a real PostgreSQL the harness starts, and end
# to end through the official MCP clients). PRESET=asan runs them sanitized.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
preset=${PRESET:-release}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset" -j2 "$@"
