#!/usr/bin/env bash
# docs/OPERATIONS.md followed as an operator would, on a fresh PostgreSQL
# cluster of its own (tests/fixtures/fleet_small.sql): create the role with the
# bootstrap (section 2), write the env file from deploy/fleetmcp.env.example
# (section 3), issue tokens (section 4), doctor and the verification checklist
# (section 5), the audit log (section 6), revoking a token (section 4).
#
#   tests/deploy/runbook_test.sh build/release/fleetmcp
#
# The commands are the runbook's own: each check takes a command from a
# ```console block of docs/OPERATIONS.md, runs it with only the machine's names
# swapped (<db-host>, the port, /etc/fleetmcp/fleetmcp.env, journalctl -> the
# server's log) and compares what it prints with the output shown under it
# (counts, times and tokens aside). A runbook edit that no longer matches the
# binary fails here. systemd and Docker steps are left out.
set -uo pipefail
bin=${1:?usage: runbook_test.sh FLEETMCP_BIN}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR
source "$here/lib.sh"
doc=$root/docs/OPERATIONS.md
[[ -x $bin ]] || { echo "FAIL $bin is not executable"; exit 1; }
for tool in psql curl jq openssl; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool not found (scripts/install-deps.sh)"; exit 1; }
done
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
# The commands run under stdbuf, which preloads a library of its own: a
# sanitized build must accept not being first in line.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
started=$SECONDS

# The operator's machine: a home of its own (~/.analytics_ro.pw lands there),
# the env file, and the cluster (under /tmp: its unprivileged owner must reach it).
work=$(mktemp -d "${TMPDIR:-/tmp}/fleetmcp-runbook.XXXXXX")
pgdir=$(mktemp -d /tmp/fleetmcp-runbook-pg.XXXXXX)
server_pid=""
cleanup() {
  stop_pid "$server_pid"
  "$root/tests/harness/pg_cluster.sh" stop "$pgdir" >/dev/null 2>&1
  rm -rf "$work" "$pgdir"
}
trap cleanup EXIT

"$root/tests/harness/pg_cluster.sh" start "$pgdir" "$root/tests/fixtures/fleet_small.sql" >"$work/cluster.log" 2>&1 ||
  { echo "FAIL could not start a PostgreSQL cluster:"; cat "$work/cluster.log"; exit 1; }
# shellcheck disable=SC1091
source "$pgdir/env"
pgport=$FLEETMCP_TEST_PORT
super_pw=$(sed -n "s|.*postgresql://postgres:\([^@]*\)@.*|\1|p" "$pgdir/env" | head -1)
# Fresh: the harness creates analytics_ro; the runbook starts without it.
PGPASSWORD=$super_pw psql -X -q -h 127.0.0.1 -p "$pgport" -U postgres -d tracksolid_db \
  -c "DROP OWNED BY analytics_ro" -c "DROP ROLE analytics_ro" >/dev/null ||
  { echo "FAIL could not drop the harness's analytics_ro"; exit 1; }

export HOME=$work
# fleetmcp on PATH, as installed (under that name whatever the file is called)
mkdir -p "$work/bin"
ln -s "$bin" "$work/bin/fleetmcp"
export PATH="$work/bin:$PATH"
unset DATABASE_URL MCP_AUTH_TOKENS MCP_HOST MCP_PORT
cfg=$work/etc/fleetmcp.env
pick_port port || exit 1
serve_log=$work/journal

# --- The runbook's console blocks ------------------------------------------

# doc_console KEY [N] cmd|out: the Nth (default 1st) command of a ```console
# block of docs/OPERATIONS.md that contains KEY (continuation lines joined),
# or the output shown under it.
doc_console() {
  awk -v key="$1" -v nth="${2:-1}" -v want="$3" '
    /^```console/ { inb = 1; next }
    inb && /^```/ { inb = 0; if (found) exit; next }
    !inb { next }
    cont { cmd = cmd "\n" $0; cont = /\\$/; if (!cont) check(); next }
    /^\$ / { if (found) exit; cmd = substr($0, 3); cont = /\\$/; if (!cont) check(); next }
    found && want == "out" { print }
    function check() {
      if (index(cmd, key) && ++seen == nth) { found = 1; if (want == "cmd") { print cmd; exit } }
    }' "$doc"
}

# As the runbook's commands are written for the machine they describe.
localize() {
  local c=$1
  c=${c//localhost:8892/localhost:$port}
  c=${c//<db-host>/127.0.0.1}
  c=${c//\/etc\/fleetmcp\/fleetmcp.env/$cfg}
  c=${c//journalctl -u fleetmcp -o cat --since today/cat $serve_log}
  c=${c//journalctl -u fleetmcp -o cat/cat $serve_log}
  printf '%s' "$c"
}
# And what they print, named as the runbook names it.
generalize() {
  local o=$1
  o=${o//$work\/bin\/fleetmcp/\/usr\/local\/bin\/fleetmcp}
  o=${o//127.0.0.1:$pgport/<db-host>:5432}
  o=${o//$cfg/\/etc\/fleetmcp\/fleetmcp.env}
  o=${o//$HOME/\/root}
  printf '%s' "$o"
}
# Normalizers: exact (trailing blanks and CRs aside), counts (numbers and
# alignment aside), audit (times aside; counts too).
norm_exact() { sed -e 's/\r$//' -e 's/[[:space:]]*$//'; }
norm_counts() { norm_exact | sed -E -e 's/[0-9]+/N/g' -e 's/ +/ /g'; }
norm_audit() {
  norm_exact | sed -E -e 's/"ts":"[^"]*"/"ts":"T"/' -e 's/"ms":[0-9]+/"ms":N/' -e 's/"rows":[0-9]+/"rows":N/'
}

last_output=""  # what the last run_doc command printed, as printed
# run_doc NAME KEY [N] [NORMALIZER]: run that command, compare with the runbook.
run_doc() {
  local name=$1 key=$2 nth=${3:-1} norm=${4:-norm_exact} cmd want got
  cmd=$(doc_console "$key" "$nth" cmd)
  if [[ -z $cmd ]]; then fail "$name: no command with [$key] in a console block of docs/OPERATIONS.md"; return; fi
  want=$(doc_console "$key" "$nth" out)
  # Line-buffered like a terminal, so stdout and stderr keep their order.
  got=$(cd "$root" && stdbuf -oL bash -c "$(localize "$cmd")" 2>&1)
  last_output=$got
  got=$(generalize "$got")
  if [[ -z $want ]]; then fail "$name: the runbook shows no output for [$key]"; return; fi
  if diff <("$norm" <<<"$want") <("$norm" <<<"$got") >"$work/diff"; then ok; else
    fail "$name: \$ $cmd"$'\n'"--- runbook, +++ real:"$'\n'"$(cat "$work/diff")"
  fi
}

# --- Section 2: create the read-only role ---------------------------------
# "export PGHOST=<db-host> PGPORT=5432 PGUSER=postgres PGDATABASE=tracksolid_db
#  # and PGPASSWORD or ~/.pgpass"
export PGHOST=127.0.0.1 PGPORT=$pgport PGUSER=postgres PGDATABASE=tracksolid_db PGPASSWORD=$super_pw
run_doc "bootstrap" "scripts/bootstrap_analytics_ro.sh"
printed_url=$(sed -n 's/^  DATABASE_URL=//p' <<<"$last_output")
# "Run it again ...: it reuses the password (analytics_ro: reusing the password in …)"
out=$(cd "$root" && scripts/bootstrap_analytics_ro.sh 2>&1)
expect_has "bootstrap again" "$out" "analytics_ro: reusing the password in $HOME/.analytics_ro.pw"
expect_has "bootstrap again: the same line" "$out" "  DATABASE_URL=postgresql://analytics_ro:<password>@127.0.0.1:$pgport/tracksolid_db"
if [[ $(stat -c %a "$HOME/.analytics_ro.pw") == 600 ]]; then ok; else fail "password file is not mode 0600"; fi

# --- Section 3: the env file ---------------------------------------------
# install -m 0600 deploy/fleetmcp.env.example /etc/fleetmcp/fleetmcp.env, then
# DATABASE_URL = the printed line with <password> replaced by the file's content.
mkdir -p "$(dirname "$cfg")"
install -m 0600 "$root/deploy/fleetmcp.env.example" "$cfg"
pw=$(<"$HOME/.analytics_ro.pw")
database_url=${printed_url/<password>/$pw}
expect_eq "DATABASE_URL from the bootstrap" "${database_url/$pw/<password>}" \
  "postgresql://analytics_ro:<password>@127.0.0.1:$pgport/tracksolid_db"

# --- Section 4: tokens -----------------------------------------------------
# "Issue: fleetmcp token new alice --config /etc/fleetmcp/fleetmcp.env --write":
# alice's entry of the example file is replaced, bob's added beside it.
set_tokens() {
  { grep -v -e '^DATABASE_URL=' -e '^MCP_AUTH_TOKENS=' "$cfg"
    printf 'DATABASE_URL=%s\nMCP_AUTH_TOKENS=%s\n' "$database_url" "$1"; } >"$cfg.new"
  chmod 600 "$cfg.new" && mv "$cfg.new" "$cfg"
}
set_tokens "$(sed -n 's/^MCP_AUTH_TOKENS=//p' "$root/deploy/fleetmcp.env.example")"
issue() {
  local out
  out=$(env -u MCP_AUTH_TOKENS fleetmcp token new "$1" --config "$cfg" --write 2>&1)
  expect_has "token new $1 --write" "$out" "Wrote MCP_AUTH_TOKENS ($1 and the others) to $cfg"
  sed -n "s/^token for $1: //p" <<<"$out"
}
alice=$(issue alice)
bob=$(issue bob)
expect_eq "the file's token line" "$(grep -c '^MCP_AUTH_TOKENS=' "$cfg")" 1
expect_has "alice and bob in the file" "$(cat "$cfg")" "MCP_AUTH_TOKENS=alice:$alice,bob:$bob"
# Without a list to read, only the entry: never a line that would drop the others.
out=$(env -u MCP_AUTH_TOKENS fleetmcp token new carol 2>/dev/null)
expect_lacks "token new without a list" "$out" "MCP_AUTH_TOKENS="
expect_has "token new without a list" "$out" "entry: carol:"
# Without --write: the whole line, everyone in it, the file unchanged.
out=$(env -u MCP_AUTH_TOKENS fleetmcp token new carol --config "$cfg" 2>/dev/null)
expect_has "token new --config" "$out" "MCP_AUTH_TOKENS=alice:$alice,bob:$bob,carol:"
if [[ $(stat -c %a "$cfg") == 600 ]]; then ok; else fail "env file is not mode 0600"; fi

# --- Section 5: doctor (Self-audit and fleetmcp doctor) --------------------
run_doc "doctor, fresh role" 'fleetmcp doctor --config /etc/fleetmcp/fleetmcp.env' 1
run_doc "revoke TEMPORARY" 'REVOKE TEMPORARY ON DATABASE tracksolid_db FROM PUBLIC'
run_doc "doctor, no findings" 'fleetmcp doctor --config /etc/fleetmcp/fleetmcp.env' 2

# The service: what the unit runs, with the env file (MCP_PORT from the
# environment, which wins over the file).
start_server() {
  MCP_PORT=$port fleetmcp serve --config "$cfg" >>"$serve_log" 2>&1 &
  server_pid=$!
  if ! wait_for_port "$port" "$server_pid" 15; then
    echo "FAIL fleetmcp serve --config did not start:"
    cat "$serve_log"
    exit 1
  fi
}
start_server
# The self-audit's table follows the listening line.
for _ in $(seq 100); do grep -q "no findings" "$serve_log" && break; sleep 0.1; done
if grep -q "no findings" "$serve_log"; then ok; else fail "serve: no self-audit line: $(cat "$serve_log")"; fi

# --- Section 5: the verification checklist ---------------------------------
export TOKEN=$alice
run_doc "role reads" 'SELECT count(*) FROM reporting.v_daily_summary' 1 norm_counts
run_doc "role cannot CREATE" '-c "CREATE TABLE x(i int)"'
run_doc "role cannot CREATE, read write" '-c "BEGIN READ WRITE" -c "CREATE TABLE x(i int)"'
run_doc "role cannot UPDATE" "-c \"BEGIN READ WRITE\" -c \"UPDATE reporting.refresh_log SET notes = 'x'\""
run_doc "env names the role" "grep -o '^DATABASE_URL=postgresql://[^:]*'"
run_doc "healthz" 'curl -s localhost:8892/healthz'
run_doc "readyz" 'curl -s localhost:8892/readyz'
# Through a proxy (a forwarding header): the same, never more.
out=$(curl -s -H 'X-Forwarded-For: 203.0.113.9' "localhost:$port/readyz")
expect_eq "readyz through a proxy" "$out" '{"ready":true}'
run_doc "tools/list" '"method":"tools/list"}'"'"' | jq -r'
run_doc "a real query" 'jq -c .result.structuredContent' 1 norm_counts
run_doc "check-sql rejects a write" 'fleetmcp check-sql "UPDATE reporting.refresh_log SET notes = NULL"'
run_doc "the server rejects a write" "jq -r '.result.isError, .result.content[0].text'"
run_doc "check-sql keeps secrets out" 'fleetmcp check-sql "SELECT email, api_key FROM tickets.users"'
run_doc "no token" 'curl -si localhost:8892/mcp'
run_doc "audit lines" "grep '\"audit\":\"tool_call\"' | tail -n 2" 1 norm_audit

# --- Section 6: the audit log ---------------------------------------------
call() {
  curl -s "localhost:$port/mcp" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"$1\",\"arguments\":$2}}" >/dev/null
}
call list_tables '{"schema":"tickets"}'
call query '{"sql":"SELECT count(*) AS open_incidents FROM tickets.inc_open_sla"}'
call query '{"sql":"UPDATE reporting.refresh_log SET notes = NULL"}'
call query '{"sql":"SELECT speedd FROM tracksolid.positions"}'
run_doc "audit example" 'tail -n 4' 1 norm_audit
run_doc "audit recipe: not ok" '.outcome != "ok") | {ts, caller, tool, outcome, error, rule, sqlstate, sql}'"'"' | tail -n 2' 1 norm_audit
audit=$(cat "$serve_log")
expect_lacks "no token in the log" "$audit" "$alice"

# --- Section 4: revoking a token -------------------------------------------
code() {
  curl -s -o /dev/null -w '%{http_code}' "localhost:$port/mcp" -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
}
expect_eq "bob before" "$(code "$bob")" 200
set_tokens "alice:$alice"
stop_pid "$server_pid"
server_pid=""
start_server
expect_eq "bob revoked" "$(code "$bob")" 401
expect_has "the 401 is logged" "$(cat "$serve_log")" '"audit":"unauthorized","caller":null,"remote":"127.0.0.1","reason":"unknown token"'
expect_lacks "the 401's log line has no token" "$(cat "$serve_log")" "$bob"
expect_eq "alice kept" "$(code "$alice")" 200

echo "runbook walkthrough: $((SECONDS - started)) s"
finish
