# shellcheck shell=bash
# Helpers shared by the deploy tests (sourced, not run).

pass=0
failures=0

ok() { pass=$((pass + 1)); }
fail() {
  echo "FAIL $*"
  failures=$((failures + 1))
}
# expect_eq NAME ACTUAL EXPECTED
expect_eq() {
  if [[ $2 == "$3" ]]; then ok; else fail "$1: got [$2], want [$3]"; fi
}
# expect_has NAME TEXT NEEDLE
expect_has() {
  if [[ $2 == *"$3"* ]]; then ok; else fail "$1: [$3] not in: $(head -c 800 <<<"$2")"; fi
}
# expect_lacks NAME TEXT NEEDLE
expect_lacks() {
  if [[ $2 != *"$3"* ]]; then ok; else fail "$1: [$3] should not be in: $(head -c 800 <<<"$2")"; fi
}
# expect_that NAME COMMAND...: COMMAND succeeds (NAME says what it checks)
expect_that() {
  if "${@:2}"; then ok; else fail "$1"; fi
}
# finish: the summary line and the exit status (never 0 when nothing was checked).
finish() {
  echo "$pass passed, $failures failed"
  ((failures == 0 && pass > 0))
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_port VAR: sets VAR to a free loopback port from FLEETMCP_TEST_PORTS
# (first-last, default 18700-18799) not handed out before by this shell. Not
# `$(pick_port)`: a subshell would forget the ports it handed out, and two
# picks could name the same port.
picked_ports=" "
pick_port() {
  local range=${FLEETMCP_TEST_PORTS:-18700-18799}
  local lo=${range%-*} hi=${range#*-} p i
  for ((i = 0; i < 200; i++)); do
    p=$((lo + RANDOM % (hi - lo + 1)))
    [[ $picked_ports == *" $p "* ]] && continue
    port_free "$p" || continue
    picked_ports+="$p "
    printf -v "$1" '%s' "$p"
    return 0
  done
  echo "no free port in $range" >&2
  return 1
}

# wait_for_port PORT PID SECONDS: until something listens on PORT (and PID lives).
wait_for_port() {
  local port=$1 pid=$2 i
  for ((i = 0; i < $3 * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    port_free "$port" || return 0
    sleep 0.1
  done
  return 1
}

# stop_pid PID: TERM, then KILL after 5 s; only the process this test started.
stop_pid() {
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

# start_on_free_port LAUNCH LOG CLASH: calls `LAUNCH PORT`, which starts a
# server in the background on PORT, with a picked loopback port until it
# listens; sets started_port and started_pid. A port taken meanwhile (CLASH, a
# grep pattern, found in LOG) is tried again; any other failure to start ends
# the test with LOG's end.
start_on_free_port() {
  local launch=$1 log=$2 clash=$3
  for _ in 1 2 3; do
    pick_port started_port || exit 1
    "$launch" "$started_port"
    started_pid=$!
    wait_for_port "$started_port" "$started_pid" 15 && return 0
    stop_pid "$started_pid"
    grep -q "$clash" "$log" || break
  done
  echo "FAIL $launch did not start:"
  tail -n 40 "$log"
  exit 1
}

# start_fleetmcp BIN DIR [NAME=VALUE...]: `BIN serve` on a picked loopback port
# with the test database and the settings given, in a clean environment, its
# output in DIR/fleetmcp.{out,err}; sets fm_port and fm_pid and waits until
# /readyz says ready.
start_fleetmcp() {
  local bin=$1 out=$2
  shift 2
  local settings=("$@")
  launch_fleetmcp() {
    env -i PATH="$PATH" HOME="$out" DATABASE_URL="$FLEETMCP_TEST_DATABASE_URL" \
      MCP_HOST=127.0.0.1 MCP_PORT="$1" MCP_THREADS=2 "${settings[@]}" \
      "$bin" serve >"$out/fleetmcp.out" 2>"$out/fleetmcp.err" &
  }
  start_on_free_port launch_fleetmcp "$out/fleetmcp.err" "cannot listen"
  fm_port=$started_port fm_pid=$started_pid
  for _ in $(seq 50); do
    [[ $(curl -s "http://127.0.0.1:$fm_port/readyz") == *'"ready":true'* ]] && break
    sleep 0.2
  done
}
