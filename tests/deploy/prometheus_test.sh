#!/usr/bin/env bash
# deploy/prometheus/ against Prometheus' own tools and a real fleetmcp:
# promtool check config (also the Basic-auth variant) and check rules on the
# shipped files; promtool test rules with prometheus_alerts_test.yml (each
# alert fires on the series that should fire it, and only there); a scrape of
# a running fleetmcp, after a query, a refused DELETE, a division by zero and
# a 401, linted by promtool check metrics; then a Prometheus server with the
# shipped configuration (only the target, the credentials file's path and the
# intervals changed) scrapes it: the target is up, the refused call is in a
# query's answer, the five alerts are loaded and evaluate without error, and
# none is pending or firing.
#
#   FLEETMCP_TEST_DATABASE_URL=postgresql://analytics_ro:...@127.0.0.1:PORT/tracksolid_db \
#   tests/deploy/prometheus_test.sh build/release/fleetmcp
#
# Exit 77 (skipped) only when promtool or prometheus is not installed
# (scripts/install-deps.sh installs them); any failure is 1.
set -uo pipefail
bin=${1:?usage: prometheus_test.sh FLEETMCP_BIN}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR
source "$here/lib.sh"

[[ -x $bin ]] || { echo "FAIL $bin is not executable"; exit 1; }
: "${FLEETMCP_TEST_DATABASE_URL:?set FLEETMCP_TEST_DATABASE_URL (tests/harness/pg_cluster.sh writes it)}"
command -v curl >/dev/null || { echo "FAIL curl not found"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL python3 not found"; exit 1; }
for tool in promtool prometheus; do
  command -v "$tool" >/dev/null ||
    { echo "SKIPPED: $tool not installed (scripts/install-deps.sh installs it)"; exit 77; }
done

shipped=$root/deploy/prometheus
dir=$(mktemp -d "${TMPDIR:-/tmp}/fleetmcp-prometheus-test.XXXXXX")
fm_pid="" prom_pid=""
cleanup() {
  stop_pid "$prom_pid"
  stop_pid "$fm_pid"
  rm -rf "$dir"
}
trap cleanup EXIT

token=prom-test-$(openssl rand -hex 12)
op_token=prom-test-op-$(openssl rand -hex 12)
printf '%s\n' "$op_token" >"$dir/operator-token"  # a trailing newline, as an editor leaves it

# json EXPR: evaluates a Python expression over the JSON on stdin, bound to j.
json() { python3 -c 'import json, sys; j = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" 2>/dev/null; }

# --- a. The shipped files, as promtool reads them --------------------------
# check config opens the credentials file: point it at one that exists.
mkdir -p "$dir/check" "$dir/basic"
sed -e "s|/etc/prometheus/fleetmcp-operator-token|$dir/operator-token|" "$shipped/prometheus.yml" >"$dir/check/prometheus.yml"
cp "$shipped/fleetmcp-alerts.yml" "$dir/check/"
out=$(promtool check config "$dir/check/prometheus.yml" 2>&1)
expect_has "promtool check config" "$out" "SUCCESS: 1 rule files found"
expect_lacks "promtool check config" "$out" "FAILED"
# The Basic-auth alternative of the comment, in place of `authorization:`.
sed -e '/^    authorization:$/,/^      credentials_file:/d' -e 's|^    # basic_auth:|    basic_auth:|' \
  -e 's,^    #   \(username\|password_file\):,      \1:,' "$dir/check/prometheus.yml" >"$dir/basic/prometheus.yml"
cp "$shipped/fleetmcp-alerts.yml" "$dir/basic/"
expect_has "basic_auth variant uncommented" "$(cat "$dir/basic/prometheus.yml")" $'    basic_auth:\n      username: prometheus\n      password_file:'
out=$(promtool check config "$dir/basic/prometheus.yml" 2>&1)
expect_has "promtool check config (basic_auth)" "$out" "SUCCESS: 1 rule files found"
expect_lacks "promtool check config (basic_auth)" "$out" "FAILED"
out=$(promtool check rules "$shipped/fleetmcp-alerts.yml" 2>&1)
expect_has "promtool check rules" "$out" "SUCCESS: 5 rules found"

# --- b. Each alert on synthetic series -------------------------------------
if out=$(cd "$here" && promtool test rules prometheus_alerts_test.yml 2>&1); then ok; else
  fail "promtool test rules: $out"
fi

# --- c. A running fleetmcp's /metrics, linted ------------------------------
start_fleetmcp "$bin" "$dir" MCP_AUTH_TOKENS="alice:$token" MCP_OPERATOR_TOKENS="prometheus:$op_token"
url=http://127.0.0.1:$fm_port

# call ID SQL: a query tool call as alice; prints the response.
call() {
  curl -s "$url/mcp" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -H "Authorization: Bearer $token" \
    -d '{"jsonrpc":"2.0","id":'"$1"',"method":"tools/call","params":{"name":"query","arguments":{"sql":"'"$2"'"}}}'
}
expect_has "query" "$(call 1 'SELECT count(*) AS devices FROM tracksolid.devices')" '"isError":false'
expect_has "DELETE refused" "$(call 2 'DELETE FROM tracksolid.devices')" 'Rejected by the SQL guard (rule statement_kind)'
expect_has "division by zero" "$(call 3 'SELECT 1 / 0 AS n')" '"isError":true'
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/mcp" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer wrong-$token" -d '{"jsonrpc":"2.0","id":4,"method":"ping"}')
expect_eq "wrong token" "$code" 401

code=$(curl -s -o "$dir/metrics.txt" -D "$dir/metrics.h" -w '%{http_code}' "$url/metrics" -H "Authorization: Bearer $op_token")
expect_eq "/metrics with the operator token" "$code" 200
expect_has "/metrics content type" "$(tr -d '\r' <"$dir/metrics.h")" $'\nContent-Type: text/plain; version=0.0.4; charset=utf-8'
metrics=$(cat "$dir/metrics.txt")
expect_has "metrics: the refused DELETE" "$metrics" $'\nfleetmcp_tool_calls_total{tool="query",outcome="denied"} 1\n'
expect_has "metrics: the division by zero" "$metrics" $'\nfleetmcp_postgres_errors_total{class="22"} 1\n'
expect_has "metrics: the 401" "$metrics" $'\nfleetmcp_unauthorized_total 1\n'
expect_has "metrics: a histogram's +Inf" "$metrics" 'fleetmcp_queue_wait_seconds_bucket{le="+Inf"} '
# Every problem promtool finds, naming lints included, fails the test.
if lint=$(promtool check metrics <"$dir/metrics.txt" 2>&1) && [[ -z $lint ]]; then ok; else
  fail "promtool check metrics: $lint"
fi
# The Basic-auth alternative: the operator's name as user, the token as password.
code=$(curl -s -o /dev/null -w '%{http_code}' -u "prometheus:$op_token" "$url/metrics")
expect_eq "/metrics with Basic" "$code" 200

# --- d. A Prometheus server scraping it ------------------------------------
p=$dir/prometheus
mkdir -p "$p"
cp "$shipped/fleetmcp-alerts.yml" "$p/"
sed -e "s|'10.0.0.5:8892'|'127.0.0.1:$fm_port'|" -e "s|/etc/prometheus/fleetmcp-operator-token|$dir/operator-token|" \
  -e 's|^\( *\)scrape_interval: 15s|\1scrape_interval: 1s|' -e 's|^\( *\)evaluation_interval: 15s|\1evaluation_interval: 1s|' \
  "$shipped/prometheus.yml" >"$p/prometheus.yml"
expect_has "test target in the configuration" "$(cat "$p/prometheus.yml")" "'127.0.0.1:$fm_port'"
launch_prometheus() {
  prometheus --config.file="$p/prometheus.yml" --storage.tsdb.path="$p/data" \
    --web.listen-address="127.0.0.1:$1" >"$p/prometheus.log" 2>&1 &
}
start_on_free_port launch_prometheus "$p/prometheus.log" "address already in use"
prom_port=$started_port prom_pid=$started_pid
api=http://127.0.0.1:$prom_port/api/v1

# Prometheus applies new targets on a 5 s tick, then scrapes every second.
health="" last_error=""
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  targets=$(curl -s "$api/targets")
  health=$(json '[t["health"] for t in j["data"]["activeTargets"] if t["labels"]["job"] == "fleetmcp"]' <<<"$targets")
  last_error=$(json '[t["lastError"] for t in j["data"]["activeTargets"]]' <<<"$targets")
  [[ $health == "['up']" ]] && break
  sleep 0.2
done
expect_eq "target health (last error: $last_error)" "$health" "['up']"
denied=""
deadline=$((SECONDS + 10))
while ((SECONDS < deadline)); do
  answer=$(curl -s -G "$api/query" --data-urlencode 'query=fleetmcp_tool_calls_total{outcome="denied"}')
  denied=$(json '[(r["metric"]["job"], r["metric"]["tool"], r["value"][1]) for r in j["data"]["result"]]' <<<"$answer")
  [[ $denied == "[('fleetmcp', 'query', '1')]" ]] && break
  sleep 0.2
done
expect_eq "query: the refused DELETE" "$denied" "[('fleetmcp', 'query', '1')]"

# The rule file loaded, each rule evaluated at least once, without error.
rules=""
want="[('FleetmcpDown', 'ok'), ('FleetmcpDatabaseRole', 'ok'), ('FleetmcpErrorRatioHigh', 'ok'), ('FleetmcpPoolSaturated', 'ok'), ('FleetmcpProbing', 'ok')]"
deadline=$((SECONDS + 10))
while ((SECONDS < deadline)); do
  rules=$(curl -s "$api/rules" |
    json '[(r["name"], r["health"]) for g in j["data"]["groups"] if g["name"] == "fleetmcp" for r in g["rules"] if r["type"] == "alerting"]')
  [[ $rules == "$want" ]] && break
  sleep 0.2
done
expect_eq "rules loaded and evaluated" "$rules" "$want"
alerts=$(curl -s "$api/alerts" | json '[(a["labels"]["alertname"], a["state"]) for a in j["data"]["alerts"]]')
expect_eq "no alert against a healthy server" "$alerts" "[]"

finish
