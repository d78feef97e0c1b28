#!/usr/bin/env bash
# Soak test: a bounded mixed load against one fleetmcp server (point queries,
# 1,000-row queries, statement timeouts, client aborts, one database restart at
# half time), then requests served, outcomes by kind, latency, recovery time,
# RSS at start and end, and the backends the server holds. Everything runs on
# 127.0.0.1 in a throwaway cluster; the load itself is bench/soak_load.mjs.
#
#   bench/soak.sh
#   FLEETMCP_BIN   server binary                       (build/release/fleetmcp)
#   SOAK_SECONDS   length of the load                  (600)
#   SOAK_CLIENTS   concurrent request loops            (16)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${FLEETMCP_BIN:-$root/build/release/fleetmcp}
seconds=${SOAK_SECONDS:-600}
clients=${SOAK_CLIENTS:-16}
pool_max=8
timeout_ms=1000

[[ -x $bin ]] || { echo "no fleetmcp binary at $bin (set FLEETMCP_BIN)" >&2; exit 1; }
for tool in node psql openssl; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done

# A few seconds to create the cluster, one more for the final sample and the report.
echo "fleetmcp soak: ${seconds}s, $clients clients, MCP_POOL_MAX=$pool_max," \
  "MCP_STATEMENT_TIMEOUT_MS=$timeout_ms; mix: 60% point, 25% 1,000 rows, 10% statement" \
  "timeout, 5% aborted by the client after 200 ms; PostgreSQL restart at t=$((seconds / 2))s;" \
  "RSS and backends every 30 s"
echo "started $(date +%T), ends about $(date -d "+$((seconds + 10)) seconds" +%T)"

# shellcheck source=lib.sh
source "$here/lib.sh"
bench_cluster fleetmcp-soak

# The audit (stdout, one line per call) goes to a file: soak_load.mjs sums it up.
start_server "$tmp/audit.jsonl" MCP_POOL_MAX="$pool_max" MCP_STATEMENT_TIMEOUT_MS="$timeout_ms"

# In the background so that Ctrl-C interrupts `wait` and runs the trap at once;
# timeout bounds a hung run. Exit status 1 means the verdict found problems.
SOAK_URL=http://127.0.0.1:$port/mcp SOAK_TOKEN=$token SOAK_SERVER_PID=$server_pid \
  SOAK_SECONDS=$seconds SOAK_CLIENTS=$clients SOAK_POOL_MAX=$pool_max \
  SOAK_ADMIN_URL=$FLEETMCP_TEST_ADMIN_URL SOAK_AUDIT_FILE=$tmp/audit.jsonl \
  SOAK_RESTART_CMD="[\"bash\",\"$root/tests/harness/pg_cluster.sh\",\"restart\",\"$tmp/pg\"]" \
  timeout $((seconds + 120)) node "$here/soak_load.mjs" </dev/null &
child=$!
status=0
wait "$child" || status=$?
child=""

# Anything the server said on stderr besides its start banner.
if grep -v 'listening on' "$tmp/server.err" | grep -q .; then
  echo "server stderr (beyond the banner):"
  grep -v 'listening on' "$tmp/server.err" | sort | uniq -c | sort -rn | head -20
fi
exit "$status"
