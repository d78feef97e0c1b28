#!/usr/bin/env bash
# Runs the end-to-end tests: the official MCP TypeScript clients (SDK 1.x and
# client 2.x) and the MCP Inspector's CLI against a built fleetmcp and a test
# database.
#
#   FLEETMCP_BIN=build/release/fleetmcp \
#   FLEETMCP_TEST_DATABASE_URL=postgresql://analytics_ro:...@127.0.0.1:PORT/tracksolid_db \
#   tests/e2e/run.sh
#
# A database: tests/harness/pg_cluster.sh start DIR tests/fixtures/fleet_small.sql,
# then `source DIR/env`. Extra arguments go to `node --test`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

missing=0
for var in FLEETMCP_BIN FLEETMCP_TEST_DATABASE_URL; do
  if [[ -z ${!var:-} ]]; then
    echo "run.sh: $var is not set" >&2
    missing=1
  fi
done
if [[ $missing == 1 ]]; then
  echo "run.sh: set FLEETMCP_BIN to the fleetmcp binary and FLEETMCP_TEST_DATABASE_URL to the read-only" >&2
  echo "        role's URL (tests/harness/pg_cluster.sh start DIR FIXTURE writes it to DIR/env)" >&2
  exit 2
fi
if [[ ! -x $FLEETMCP_BIN ]]; then
  echo "run.sh: FLEETMCP_BIN=$FLEETMCP_BIN is not an executable file" >&2
  exit 2
fi
# The tests spawn the binary themselves, possibly from another directory.
FLEETMCP_BIN=$(cd "$(dirname "$FLEETMCP_BIN")" && pwd)/$(basename "$FLEETMCP_BIN")
export FLEETMCP_BIN

# npm keeps node_modules/.package-lock.json in step with what it installed; a
# newer package-lock.json (or none installed yet) means install again.
if [[ $here/package-lock.json -nt $here/node_modules/.package-lock.json ]]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi

status=0
node --test --test-concurrency=2 "$@" "$here"/*.test.mjs || status=$?
exit "$status"
