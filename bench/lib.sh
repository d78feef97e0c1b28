# Shared by the benchmarks (sourced; expects $root and $bin): a throwaway
# cluster with the test fixture, one fleetmcp server at a time, and a cleanup
# that stops both and, when the server died early, shows why.
#
#   bench_cluster NAME             temp dir /tmp/NAME.XXXXXX in $tmp, cluster up,
#                                  its env sourced, a fresh bearer in $token
#   start_server AUDIT [VAR=V ..]  fleetmcp serve with the settings given,
#                                  audit lines to AUDIT; sets $server_pid, $port
#   stop_server
#   $child                         a background run the cleanup must kill
#   cluster_pids PGDATA            the postmaster's pid and its children's
#   proc_ticks PID..               CPU (user+system, with reaped children's) in
#                                  clock ticks, summed over the processes
#   proc_status PID FIELD          a /proc/PID/status value in kB (VmRSS, VmHWM)

server_pid="" child=""

stop_server() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

bench_cleanup() {
  local rc=$?
  if [[ -n $child ]]; then kill "$child" 2>/dev/null || true; fi
  if [[ -n $server_pid ]] && ! kill -0 "$server_pid" 2>/dev/null; then
    wait "$server_pid" && rc=0 || rc=$?
    echo "fleetmcp exited early (status $rc); its stderr:" >&2
    cat "$tmp/server.err" >&2
  fi
  stop_server
  bash "$root/tests/harness/pg_cluster.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}

bench_cluster() {
  tmp=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$tmp"  # pg_cluster.sh runs initdb as postgres when we are root
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  bash "$root/tests/harness/pg_cluster.sh" start "$tmp/pg" "$root/tests/fixtures/fleet_small.sql"
  # shellcheck disable=SC1091
  source "$tmp/pg/env"
  token=$(openssl rand -hex 16)
}

# One analyst ("bench") sends every call: the per-caller limits would measure
# themselves, so they are lifted (the benches' own settings come after).
start_server() {
  local audit=$1; shift
  env DATABASE_URL="$FLEETMCP_TEST_DATABASE_URL" MCP_AUTH_TOKENS="bench:$token" MCP_HOST=127.0.0.1 \
    MCP_PORT=0 MCP_CALLS_PER_MINUTE=1000000 MCP_CONCURRENT_CALLS=1000 MCP_CONNECTIONS_PER_CALLER=1000000 \
    "$@" "$bin" serve >"$audit" 2>"$tmp/server.err" &
  server_pid=$!
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/mcp.*|\1|p' "$tmp/server.err")
    [[ -n $port ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  stop_server
  echo "fleetmcp did not start:" >&2
  cat "$tmp/server.err" >&2
  exit 1
}

# cluster_pids PGDATA: the postmaster's pid, then its children's (backends,
# parallel workers, background processes), one line. Not from
# /proc/PID/task/PID/children, which can miss children while others come and
# go (see proc(5)); ps reads every /proc/PID/stat.
cluster_pids() {
  local pm
  read -r pm <"$1/postmaster.pid"
  # shellcheck disable=SC2046  # one word per pid
  echo "$pm" $(ps --ppid "$pm" -o pid=)
}

# proc_ticks PID..: utime+stime+cutime+cstime (fields 14-17 of /proc/PID/stat,
# in clock ticks) summed over the processes; a pid that is gone counts 0. The
# children's fields count what exited, waited-for children used: so a
# postmaster's total keeps the CPU of backends that have ended. The command
# name (field 2) may hold spaces, so fields are counted from the ") " after it.
proc_ticks() {
  local pid files=()
  for pid in "$@"; do files+=("/proc/$pid/stat"); done
  { cat "${files[@]}" 2>/dev/null || true; } |
    awk '{ sub(/^.*\) /, ""); s += $12 + $13 + $14 + $15 } END { printf "%d\n", s }'
}

proc_status() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
