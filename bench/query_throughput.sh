#!/usr/bin/env bash
# fleetmcp's query tool (driven by wrk over HTTP) next to pgbench sending the
# same SQL straight to PostgreSQL, at the same client count, for four
# workloads; per call also the CPU of the server and of PostgreSQL, the reply
# size against PostgreSQL's own text form of the result, and the server's
# peak RSS. Everything runs on 127.0.0.1 in a throwaway cluster; see
# bench/README.md for what each column means and how it is measured.
#
#   bench/query_throughput.sh
#   FLEETMCP_BIN      server binary                         (build/release/fleetmcp)
#   BENCH_DURATION    seconds measured per side per workload (10)
#   BENCH_WARMUP      seconds run first and not measured     (2)
#   BENCH_CLIENTS     wrk connections, pgbench clients, MCP_POOL_MAX (8)
#   BENCH_WORKLOADS   which workloads to run                 ("W1 W2 W3 W4")
#   BENCH_GZIP        1: wrk asks for gzip, as Node and Python clients do (0)
set -euo pipefail
export LC_ALL=C  # a '.' in $EPOCHREALTIME and in awk's numbers

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${FLEETMCP_BIN:-$root/build/release/fleetmcp}
duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-2}
clients=${BENCH_CLIENTS:-8}
read -ra selected <<<"${BENCH_WORKLOADS:-W1 W2 W3 W4}"
threads=$((clients < 2 ? clients : 2))  # wrk -t / pgbench -j: 2 cores here
max_rows=10001                          # above every workload's row count: nothing is capped
hz=$(getconf CLK_TCK) cores=$(nproc)

declare -A what sql
what[W1]="point query, 1 row"
sql[W1]="SELECT imei, name, cost_centre FROM tracksolid.devices WHERE imei = '860000000000001'"
what[W2]="1,000 rows x 11 columns"
sql[W2]="SELECT * FROM tracksolid.bench_readings ORDER BY id LIMIT 1000"
what[W3]="10,000 rows x 11 columns"
sql[W3]="SELECT * FROM tracksolid.bench_readings ORDER BY id LIMIT 10000"
what[W4]="GROUP BY over 100,000 rows, 50 rows back"
sql[W4]="SELECT imei, (ts AT TIME ZONE 'UTC')::date AS day, count(*) AS readings, avg(speed) AS avg_speed, max(speed) AS max_speed FROM tracksolid.bench_readings GROUP BY 1, 2 ORDER BY 1, 2"

[[ -x $bin ]] || { echo "no fleetmcp binary at $bin (set FLEETMCP_BIN)" >&2; exit 1; }
for tool in wrk pgbench psql curl jq openssl ps; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
for w in "${selected[@]}"; do
  [[ -n ${sql[$w]:-} ]] || { echo "unknown workload $w (BENCH_WORKLOADS: W1 W2 W3 W4)" >&2; exit 1; }
done

# Per workload: wrk and pgbench, each for warm-up + duration + 1 s (the last
# second keeps the load on while the window closes), ~1 s for the server start
# and the reference queries; ~10 s for the cluster and the table.
echo "fleetmcp query benchmark: ${#selected[@]} workloads x (fleetmcp, pgbench), $clients clients," \
  "${warmup}s warm-up + ${duration}s measured each:" \
  "about $((${#selected[@]} * (2 * (warmup + duration + 1) + 1) + 10)) s in total"

# shellcheck source=lib.sh
source "$here/lib.sh"
bench_cluster fleetmcp-bench

admin_psql=(psql -X -q -v ON_ERROR_STOP=1 "$FLEETMCP_TEST_ADMIN_URL")
ro_psql=(psql -X -q -v ON_ERROR_STOP=1 "$FLEETMCP_TEST_DATABASE_URL")

# The wide table of W2-W4, made by the superuser and readable by the server's
# role. VACUUM FREEZE now, so that neither autovacuum nor hint-bit writes land
# in a measured window.
"${admin_psql[@]}" <<'SQL'
CREATE TABLE tracksolid.bench_readings (
  id bigint PRIMARY KEY,
  imei text NOT NULL,
  ts timestamptz NOT NULL,
  lat double precision NOT NULL,
  lng double precision NOT NULL,
  speed real,
  heading smallint,
  ignition boolean,
  odometer numeric(12, 3),
  fuel_level real,
  driver text
);
INSERT INTO tracksolid.bench_readings
SELECT g, (860000000100000 + g % 10)::text,
       timestamptz '2026-01-01 00:00:00+00' + g * interval '4 seconds',
       -1.28 + (g % 5003) * 0.0001731, 36.82 + (g % 7001) * 0.0001313,
       ((g * 7) % 1200) / 10.0, (g * 37) % 360, g % 3 <> 0,
       10000 + g * 0.137, ((g * 13) % 1000) / 10.0, 'Driver ' || (g % 50)
FROM generate_series(1, 100000) g;
GRANT SELECT ON tracksolid.bench_readings TO analytics_ro;
VACUUM (FREEZE, ANALYZE) tracksolid.bench_readings;
SQL

# The text budget for a model lifted: the workloads measure whole results.
text_cap=(MCP_MAX_TEXT_TOKENS=10000000)
notes=()

calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# run OUT CMD...: CMD in the background with stdout to OUT. A Ctrl-C then
# interrupts `sleep`/`wait` and runs the trap at once (a foreground wrk would
# catch the SIGINT itself); timeout bounds a hung run. finish waits for it.
run() {
  local out=$1; shift
  timeout $((warmup + duration + 40)) "$@" </dev/null >"$out" &
  child=$!
}
finish() {
  local rc=0
  wait "$child" || rc=$?
  child=""
  return "$rc"
}

# sample: "time cluster server audit_lines client machine" at this moment:
# CPU in clock ticks of the cluster, the server, the load generator (wrk or
# pgbench: $child is `timeout`, the tool its child) and the whole machine
# (/proc/stat user + nice + system: interrupt time, mostly this benchmark's own
# loopback traffic, is left out), and the audit lines so far. The
# counters are read between two clock readings and stamped with their
# midpoint. The cluster's total: all its live processes, plus what the
# postmaster collected from children that exited (a backend or parallel worker
# ending in the window still counts). Children are read first: one that exits
# between the two reads lands in the postmaster's total instead of being lost.
sample() {
  local a b pids pg srv=0 n=0 cl=0 u ni sy
  a=$EPOCHREALTIME
  read -ra pids < <(cluster_pids "$FLEETMCP_TEST_PGDATA")
  pg=$(proc_ticks "${pids[@]:1}" "${pids[0]}")
  if [[ -n $server_pid ]]; then
    srv=$(proc_ticks "$server_pid")
    n=$(wc -l <"$audit")
  fi
  # shellcheck disable=SC2046  # one word per pid
  cl=$(proc_ticks "$child" $(ps --ppid "$child" -o pid=))
  read -r _ u ni sy _ </proc/stat
  b=$EPOCHREALTIME
  echo "$(calc %.6f "($a + $b) / 2") $pg $srv $n $cl $((u + ni + sy))"
}

# The window: samples after the warm-up and `duration` seconds later, while the
# load runs (sets t0 pg0 s0 n0 c0 m0, t1 pg1 s1 n1 c1 m1).
measure_window() {
  sleep "$warmup"
  read -r t0 pg0 s0 n0 c0 m0 < <(sample)
  sleep "$duration"
  read -r t1 pg1 s1 n1 c1 m1 < <(sample)
}

# Per call in µs from a tick delta; the share of the machine (all cores) that
# processes outside the benchmark used in the window, in %.
per_call() { calc %.0f "($1) * 1e6 / $hz / $2"; }
others() { calc %.0f "(($m1 - $m0) - ($pg1 - $pg0) - ($s1 - $s0) - ($c1 - $c0)) * 100 / $hz / ($t1 - $t0) / $cores"; }

rows=() details=() idle_rss=""
for w in "${selected[@]}"; do
  q=${sql[$w]}
  # PostgreSQL's own answer: the row count the reply must hold, and the size of
  # the result in PostgreSQL's text format.
  expect=$("${ro_psql[@]}" -At -c "SELECT count(*) FROM ($q) s")
  pg_text=$("${ro_psql[@]}" -c "COPY ($q) TO STDOUT" | wc -c)
  # A cursor never gets a parallel plan (PostgreSQL docs, "When Can Parallel
  # Query Be Used?"), and the server reads through one; pgbench's plain
  # statement may get one.
  workers=$("${ro_psql[@]}" -At -c "EXPLAIN $q" | sed -n 's/.*Workers Planned: \([0-9]*\).*/\1/p' | head -1)
  [[ -z $workers ]] ||
    notes+=("$w: PostgreSQL plans $workers parallel workers for pgbench's statement, none for fleetmcp's cursor")

  # --- fleetmcp: a new server per workload ---------------------------------
  audit=$tmp/audit.$w.jsonl
  settings=(MCP_POOL_MAX="$clients" MCP_MAX_ROWS=100000 "${text_cap[@]}")
  start_server "$audit" "${settings[@]}"
  [[ -n $idle_rss ]] || idle_rss=$(proc_status "$server_pid" VmRSS)

  # One call through curl before measuring: wrk counts only HTTP status, and a
  # tool error is an HTTP 200. It also gives the reply sizes.
  body=$(jq -cn --arg sql "$q" --argjson n "$max_rows" \
    '{jsonrpc:"2.0",id:1,method:"tools/call",params:{name:"query",arguments:{sql:$sql,max_rows:$n}}}')
  wire=$(curl -sf -o "$tmp/reply.json" -w '%{size_download}' -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' --data "$body" "http://127.0.0.1:$port/mcp") ||
    { echo "$w: the check call failed" >&2; exit 1; }
  # The same reply as a client that accepts gzip gets it (size_download counts
  # the compressed bytes).
  gz_wire=$(curl -sf --compressed -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' --data "$body" "http://127.0.0.1:$port/mcp") ||
    { echo "$w: the gzip check call failed" >&2; exit 1; }
  got=$(jq -r '.result.structuredContent.row_count // "none"' "$tmp/reply.json")
  if [[ $got != "$expect" ]]; then
    echo "$w: fleetmcp returned row_count $got, PostgreSQL $expect rows; the reply starts:" >&2
    head -c 600 "$tmp/reply.json" >&2
    echo >&2
    exit 1
  fi
  text=$(jq -j '.result.content[0].text' "$tmp/reply.json" | wc -c)

  BENCH_SQL=$q BENCH_MAX_ROWS=$max_rows BENCH_TOKEN=$token BENCH_GZIP=${BENCH_GZIP:-0} run "$tmp/wrk.out" \
    wrk -t "$threads" -c "$clients" -d "$((warmup + duration + 1))s" --timeout 10s \
    -s "$here/post_query.lua" "http://127.0.0.1:$port/mcp"
  measure_window
  finish
  kill -0 "$server_pid" 2>/dev/null ||
    { echo "$w: fleetmcp exited during the run" >&2; exit 1; }
  fm_calls=$((n1 - n0)) fm_secs=$(calc %.3f "$t1 - $t0")
  ((fm_calls > 0)) || { echo "$w: the server finished no call in the window" >&2; exit 1; }
  fm_rps=$(calc %.0f "$fm_calls / $fm_secs")
  srv_us=$(per_call "$s1 - $s0" "$fm_calls")
  fm_pg_us=$(per_call "$pg1 - $pg0" "$fm_calls")
  wrk_us=$(per_call "$c1 - $c0" "$fm_calls") fm_other=$(others)
  hwm=$(proc_status "$server_pid" VmHWM)
  wrk_errors=$(sed -n 's/^BENCH.* errors=\([0-9]*\).*/\1/p' "$tmp/wrk.out")
  [[ $wrk_errors == 0 ]] || notes+=("$w: wrk saw ${wrk_errors:-?} socket errors or HTTP statuses >= 400")
  not_ok=$(sed -n "$((n0 + 1)),${n1}p" "$audit" | grep -vc '"outcome":"ok"' || true)
  ((not_ok == 0)) || notes+=("$w: $not_ok of $fm_calls calls in the window were not ok in the audit")
  stop_server  # its pooled backends are gone before pgbench starts

  # --- pgbench: the plain SQL, as the same read-only role ------------------
  # -M extended: the server sends unnamed statements (parse every time), so
  # does pgbench; -M prepared would skip parse analysis.
  printf '%s;\n' "$q" >"$tmp/$w.sql"
  rm -f "$tmp"/pgb.*
  run "$tmp/pgbench.out" pgbench -n -M extended -c "$clients" -j "$threads" \
    -T "$((warmup + duration + 1))" -f "$tmp/$w.sql" -l --log-prefix="$tmp/pgb" \
    "$FLEETMCP_TEST_DATABASE_URL"
  measure_window
  finish || { echo "$w: pgbench failed:" >&2; cat "$tmp/pgbench.out" >&2; exit 1; }
  # Log columns 5 and 6: when each transaction ended (epoch s, µs).
  pg_calls=$(cat "$tmp"/pgb.* | awk -v a="$t0" -v b="$t1" '{ t = $5 + $6 / 1e6 } t >= a && t < b { n++ }
                                                         END { print n + 0 }')
  ((pg_calls > 0)) || { echo "$w: pgbench finished no transaction in the window" >&2; exit 1; }
  pg_secs=$(calc %.3f "$t1 - $t0")
  pg_tps=$(calc %.0f "$pg_calls / $pg_secs")
  pgb_pg_us=$(per_call "$pg1 - $pg0" "$pg_calls")
  pgb_us=$(per_call "$c1 - $c0" "$pg_calls") pg_other=$(others)
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$tmp/pgbench.out")
  [[ ${failed:-0} == 0 ]] || notes+=("$w: pgbench reported $failed failed transactions")

  row=$(printf '| %s %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$w" "${what[$w]}" "$pg_tps" "$fm_rps" \
    "$(calc %.2f "$fm_rps / $pg_tps")" "$srv_us" "$fm_pg_us" "$pgb_pg_us" \
    "$(calc %.2f "$wire / $pg_text")" "$(calc %.2f "$gz_wire / $pg_text")" "$(calc %.2f "$text / $pg_text")" "$hwm")
  echo "$row"
  rows+=("$row")
  details+=("$(printf '| %s | %s | %s | %s | %s | %s in %s s | %s in %s s | %s | %s | %s / %s |' "$w" "$expect" \
    "$pg_text" "$wire" "$text" "$fm_calls" "$fm_secs" "$pg_calls" "$pg_secs" "$wrk_us" "$pgb_us" \
    "$fm_other" "$pg_other")")
  ((fm_other < 10 && pg_other < 10)) ||
    notes+=("$w: other processes used ${fm_other}% / ${pg_other}% of the machine during the windows: not a quiet run")
done

echo
echo "fleetmcp $("$bin" version 2>/dev/null | awk '{ print $NF }'), $(pgbench --version | awk '{ print "pgbench " $3 }')," \
  "$(wrk -v 2>&1 | awk 'NR == 1 { print "wrk " $2 }'); $cores cores, load average now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$clients clients: wrk -t $threads -c $clients$([[ ${BENCH_GZIP:-0} == 1 ]] && echo " asking for gzip"), MCP_POOL_MAX=$clients, MCP_MAX_ROWS=100000, max_rows $max_rows," \
  "${text_cap[*]:-no MCP_MAX_TEXT_TOKENS}; pgbench -M extended -n -c $clients -j $threads;" \
  "${duration} s measured after ${warmup} s of warm-up"
echo "server idle VmRSS right after start: $idle_rss KiB"
echo
echo "| workload | pgbench tps | fleetmcp rps | ratio | server CPU µs/call | PG CPU µs/call (fleetmcp) | PG CPU µs/call (pgbench) | wire bytes / PG text bytes | gzip wire bytes / PG text bytes | text block bytes / PG text bytes | peak RSS KiB |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "| workload | rows | PG text bytes (COPY) | wire bytes (HTTP body) | text block bytes | fleetmcp calls measured | pgbench calls measured | wrk CPU µs/call | pgbench CPU µs/call | other processes, % of machine (fleetmcp / pgbench window) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${details[@]}"
if ((${#notes[@]})); then
  echo
  printf 'note: %s\n' "${notes[@]}"
fi
