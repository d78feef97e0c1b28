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

tmp=$(mktemp -d /tmp/fleetmcp-soak.XXXXXX)
chmod 755 "$tmp"  # pg_cluster.sh runs initdb as postgres when we are root
server_pid="" child=""
cleanup() {
  local rc=$?
  if [[ -n $child ]]; then kill "$child" 2>/dev/null || true; fi
  if [[ -n $server_pid ]] && ! kill -0 "$server_pid" 2>/dev/null; then
    wait "$server_pid" && rc=0 || rc=$?
    echo "fleetmcp exited early (status $rc); its stderr:" >&2
    cat "$tmp/server.err" >&2
  elif [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  bash "$root/tests/harness/pg_cluster.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash "$root/tests/harness/pg_cluster.sh" start "$tmp/pg" "$root/tests/fixtures/fleet_small.sql"
# shellcheck disable=SC1091
source "$tmp/pg/env"
token=$(openssl rand -hex 16)

# The audit (stdout, one line per call) goes to a file: soak_load.mjs sums it up.
DATABASE_URL=$FLEETMCP_TEST_DATABASE_URL MCP_AUTH_TOKENS=soak:$token MCP_HOST=127.0.0.1 \
  MCP_PORT=0 MCP_POOL_MAX=$pool_max MCP_STATEMENT_TIMEOUT_MS=$timeout_ms \
  "$bin" serve >"$tmp/audit.jsonl" 2>"$tmp/server.err" &
server_pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/mcp.*|\1|p' "$tmp/server.err")
  [[ -n $port ]] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n $port ]] || { echo "fleetmcp did not start:" >&2; cat "$tmp/server.err" >&2; exit 1; }

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
