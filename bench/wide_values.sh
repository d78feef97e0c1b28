#!/usr/bin/env bash
# Peak memory of fleetmcp while eight calls at once each select one 500 MB
# value: the wire budget (MCP_MAX_RESPONSE_BYTES) keeps every call near the
# budget, however wide the value. Needs a database the role can read; the
# test harness's cluster will do:
#   tests/harness/pg_cluster.sh start /tmp/fm tests/fixtures/fleet_small.sql && source /tmp/fm/env
#   DATABASE_URL=$FLEETMCP_TEST_DATABASE_URL bench/wide_values.sh build/release/fleetmcp
# PostgreSQL itself needs about 1.5 GB per backend to build such a value.
set -euo pipefail
bin=${1:-build/release/fleetmcp}
port=${PORT:-28892}
: "${DATABASE_URL:?set DATABASE_URL}"
env -i PATH=/usr/bin:/bin DATABASE_URL="$DATABASE_URL" MCP_AUTH_TOKENS=bench:wide-values-token MCP_PORT="$port" \
  MCP_CALLS_PER_MINUTE=1000000 MCP_CONCURRENT_CALLS=1000 MCP_POOL_MAX=8 MCP_QUEUE_TIMEOUT_MS=300000 MCP_STATEMENT_TIMEOUT_MS=300000 "$bin" serve >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
call() {
  curl -s -m 600 -H 'Authorization: Bearer wide-values-token' -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"query\",\"arguments\":{\"sql\":\"$1\"}}}" \
    "http://127.0.0.1:$port/mcp"
}
kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
call "SELECT 1 AS warm" >/dev/null
idle=$(kib VmHWM)
start=$(date +%s)
out=$(mktemp -d)
calls=()
for i in 1 2 3 4 5 6 7 8; do
  call "SELECT repeat('x', 500000000) AS wide" >"$out/$i" &
  calls+=($!)
done
wait "${calls[@]}"
took=$(($(date +%s) - start))
peak=$(kib VmHWM)
sleep 20
echo "idle ${idle} KiB; peak ${peak} KiB during 8 x repeat('x', 500000000) (${took} s); resident $(kib VmRSS) KiB 20 s later"
echo "first answer: $(head -c 200 "$out/1")"
rm -rf "$out"
