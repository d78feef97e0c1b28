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
# The end-to-end clients, from the lockfile, once: two e2e tests run in parallel.
if [[ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]]; then
  (cd tests/e2e && npm ci --no-audit --no-fund)
fi
ctest --preset "$preset" -j2 "$@"
