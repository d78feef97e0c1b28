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

# shellcheck source=../harness/client_env.sh
source "$here/../harness/client_env.sh"
prepare_client_tests "$here"

status=0
# spec, not TAP: it ends with the failing tests, where a CI log's tail shows them.
node --test --test-concurrency=2 --test-reporter=spec "$@" "$here"/*.test.mjs || status=$?
exit "$status"
