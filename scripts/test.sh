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
# The end-to-end clients and the conformance suite, from their lockfiles, once:
# the tests that use them run in parallel.
for dir in tests/e2e tests/conformance; do
  if [[ $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
done
ctest --preset "$preset" -j2 "$@"
