#!/usr/bin/env bash
# Throughput and latency of fleetmcp's query tool (driven by wrk over HTTP)
# next to pgbench sending the same statement sequence straight to PostgreSQL,
# so the ratio shows what the HTTP + MCP + guard + JSON layer costs.
# Everything runs on 127.0.0.1 in a throwaway cluster; see bench/README.md.
#
#   bench/query_throughput.sh
#   FLEETMCP_BIN            server binary              (build/release/fleetmcp)
#   BENCH_CONCURRENCY       client counts              ("1 16 64")
#   BENCH_DURATION          seconds measured per cell  (10)
#   BENCH_WARMUP            seconds discarded per cell (2)
#   BENCH_POOL_CAP          MCP_POOL_MAX = min(c, cap) (16)
#   BENCH_PGBENCH_PIPELINE  1: pgbench sends the transaction in one round trip
#                           like fleetmcp does; 0: one round trip per statement (1)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${FLEETMCP_BIN:-$root/build/release/fleetmcp}
concurrency=${BENCH_CONCURRENCY:-1 16 64}
duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-2}
pool_cap=${BENCH_POOL_CAP:-16}
pipeline=${BENCH_PGBENCH_PIPELINE:-1}

names=(point rows100)
sqls=("SELECT imei, name, cost_centre FROM tracksolid.devices WHERE imei = '860000000000001'"
      "SELECT * FROM tracksolid.positions ORDER BY id LIMIT 100")
max_rows=(1 100)

[[ -x $bin ]] || { echo "no fleetmcp binary at $bin (set FLEETMCP_BIN)" >&2; exit 1; }
for tool in wrk pgbench curl jq openssl; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done

read -ra levels <<<"$concurrency"
cells=$((${#levels[@]} * ${#names[@]}))
# Each cell runs wrk and pgbench, each after a warm-up; ~10 s for cluster setup.
echo "fleetmcp query benchmark: ${#levels[@]} concurrency levels x ${#names[@]} statements," \
  "${duration}s + ${warmup}s warm-up per tool: about $((cells * 2 * (duration + warmup) + 10)) s in total"

# shellcheck source=lib.sh
source "$here/lib.sh"
bench_cluster fleetmcp-bench

# One real call per statement before measuring: wrk only counts HTTP status,
# and a tool error is an HTTP 200, so check the reply carries the rows.
check_reply() {
  local sql=$1 rows=$2 body
  body=$(jq -cn --arg sql "$sql" --argjson n "$rows" \
    '{jsonrpc:"2.0",id:1,method:"tools/call",params:{name:"query",arguments:{sql:$sql,max_rows:$n}}}')
  curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data "$body" "http://127.0.0.1:$port/mcp" | grep -q "\"structuredContent\":{\"row_count\":$rows," ||
    { echo "fleetmcp did not return $rows row(s) for: $sql" >&2; exit 1; }
}

# The server's sequence (src/pg/connection.cpp, src/tools/common.cpp) as a
# pgbench script; FETCH asks for max_rows+1 exactly like the server does.
write_pgbench_script() {
  local file=$1 sql=$2 fetch=$(($3 + 1))
  {
    [[ $pipeline == 1 ]] && printf '%s\n' '\startpipeline'
    echo 'BEGIN READ ONLY;'
    echo 'SET LOCAL statement_timeout = 30000;'
    echo "DECLARE c NO SCROLL CURSOR FOR $sql;"
    echo "FETCH FORWARD $fetch FROM c;"
    echo 'ROLLBACK;'
    [[ $pipeline == 1 ]] && printf '%s\n' '\endpipeline'
    true
  } >"$file"
}

# run OUT CMD...: CMD in the background, stdout to OUT, then wait. A Ctrl-C then
# interrupts `wait` and runs the trap at once; a foreground wrk would catch the
# SIGINT itself, exit 0, and bash would carry on with the next cell. timeout
# bounds a hung run and passes cleanup's SIGTERM on to wrk/pgbench.
run() {
  local out=$1; shift
  timeout $((duration + warmup + 30)) "$@" </dev/null >"$out" &
  child=$!
  wait "$child"
  child=""
}

# wrk against the server for $1 seconds with $sql/$rows/$c/$threads of the cell.
wrk_run() {
  BENCH_SQL=$sql BENCH_MAX_ROWS=$rows BENCH_TOKEN=$token run "$tmp/wrk.out" \
    wrk -t "$threads" -c "$c" -d "${1}s" --timeout 10s -s "$here/post_query.lua" \
    "http://127.0.0.1:$port/mcp"
}

# A value from the "BENCH rps=.. p50_us=.. ..." line that post_query.lua's done() prints.
wrk_field() { sed -n "s/^BENCH.* $1=\([0-9.]*\).*/\1/p" "$tmp/wrk.out"; }

header() {
  printf '%-8s %4s %5s %10s %8s %8s %10s %8s %8s %6s\n' statement c pool "fm rps" "fm p50" \
    "fm p99" "pgb tps" "pgb avg" "pgb p99" ratio
}

ms() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1000 }'; }

header
results=()
for c in "${levels[@]}"; do
  pool=$((c < pool_cap ? c : pool_cap))
  threads=$((c < 2 ? c : 2))  # 2 cores: more client threads only add contention
  for i in "${!names[@]}"; do
    name=${names[$i]} sql=${sqls[$i]} rows=${max_rows[$i]}
    # A server per cell: MCP_POOL_MAX follows c, and its pooled connections are
    # gone before pgbench needs up to c backends of its own.
    start_server /dev/null MCP_POOL_MAX="$pool"
    check_reply "$sql" "$rows"

    # (a) fleetmcp over HTTP with wrk; the warm-up also opens the pool's connections.
    wrk_run "$warmup" >/dev/null
    wrk_run "$duration"
    fm_rps=$(wrk_field rps) fm_p50=$(wrk_field p50_us) fm_p99=$(wrk_field p99_us)
    fm_errors=$(wrk_field errors)
    [[ $fm_errors == 0 ]] || echo "warning: wrk saw $fm_errors errors ($name, c=$c)" >&2
    stop_server

    # (b) pgbench, same statements, same client count, as the read-only role.
    script=$tmp/$name.sql
    write_pgbench_script "$script" "$sql" "$rows"
    # -M extended: the server sends each statement with PQsendQueryParams, unnamed,
    # so PostgreSQL parses every one every time; -M prepared would skip that work.
    pgb=(pgbench -n -M extended -c "$c" -j "$threads" -f "$script")
    run /dev/null "${pgb[@]}" -T "$warmup" "$FLEETMCP_TEST_DATABASE_URL"
    rm -f "$tmp"/pgb.*
    run "$tmp/pgbench.out" "${pgb[@]}" -T "$duration" -l --log-prefix="$tmp/pgb" \
      "$FLEETMCP_TEST_DATABASE_URL"
    pg_tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$tmp/pgbench.out")
    # Per-transaction log: column 3 is the latency in microseconds.
    read -r pg_avg pg_p99 < <(cat "$tmp"/pgb.* | awk '{ print $3 }' | sort -n |
      awk '{ v[NR] = $1; s += $1 } END { i = int(NR * 0.99); if (i < NR * 0.99) i++;
             printf "%.3f %.3f\n", s / NR / 1000, v[i] / 1000 }')

    ratio=$(awk -v a="$fm_rps" -v b="$pg_tps" 'BEGIN { printf "%.2f", a / b }')
    row=$(printf '%-8s %4s %5s %10.0f %8s %8s %10.0f %8s %8s %6s' "$name" "$c" "$pool" \
      "$fm_rps" "$(ms "$fm_p50")" "$(ms "$fm_p99")" "$pg_tps" "$pg_avg" "$pg_p99" "$ratio")
    echo "$row"
    results+=("$row")
  done
done

echo
echo "fleetmcp: wrk -t<=2, MCP_POOL_MAX=pool, $(nproc) cores; pgbench: -M extended, -c c, -j<=2," \
  "pipeline=$pipeline; ${duration}s per cell after ${warmup}s warm-up; latencies in ms"
header
printf '%s\n' "${results[@]}"
