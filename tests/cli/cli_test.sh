#!/usr/bin/env bash
# The command line: help documents every setting, bad configuration stops the
# start with one line naming the variable, unsafe starts are refused.
set -uo pipefail
bin=${1:?usage: cli_test.sh FLEETMCP_BIN}
failures=0
pass=0

check() {  # check NAME EXPECTED_STATUS EXPECTED_TEXT -- command...
  local name=$1 want_status=$2 want_text=$3
  shift 4
  local out status
  out=$(env -i PATH="$PATH" "$@" 2>&1)
  status=$?
  if [[ $status != "$want_status" || $out != *"$want_text"* ]]; then
    echo "FAIL $name: status $status (want $want_status), output: $out"
    failures=$((failures + 1))
  else
    pass=$((pass + 1))
  fi
}

help=$("$bin" --help)
for setting in DATABASE_URL MCP_AUTH_TOKENS MCP_HOST MCP_PORT MCP_MAX_ROWS MCP_POOL_MAX \
  MCP_READABLE_SCHEMAS MCP_STATEMENT_TIMEOUT_MS MCP_QUEUE_TIMEOUT_MS MCP_READONLY MCP_ENABLED MCP_TOKEN \
  MCP_ALLOWED_MODELS MCP_RATE_LIMIT MCP_WS_IDLE_TIMEOUT MCP_WS_PING_INTERVAL MCP_WS_MAX_MESSAGE_BYTES; do
  if [[ $help == *"$setting"* ]]; then pass=$((pass + 1)); else
    echo "FAIL help does not document $setting"
    failures=$((failures + 1))
  fi
done

url="postgresql://nobody@127.0.0.1:1/none"
check version 0 "fleetmcp 0." -- "$bin" version
check unknown-command 2 "unknown command 'launch'" -- "$bin" launch
check unknown-option 2 "unknown option '--fast'" -- "$bin" serve --fast
check no-database-url 2 "DATABASE_URL: must be set" -- "$bin" serve
check bad-port 2 "MCP_PORT: expected a whole number, got 'abc'" -- MCP_PORT=abc DATABASE_URL=$url "$bin" serve
check bad-pool 2 "MCP_POOL_MAX: 0 is out of range" -- MCP_POOL_MAX=0 DATABASE_URL=$url "$bin" serve
check readonly-false 2 "MCP_READONLY: false is refused: fleetmcp is read-only by design" -- \
  MCP_READONLY=false DATABASE_URL=$url MCP_AUTH_TOKENS=a:tok12345678 "$bin" serve
check no-tokens 2 "MCP_AUTH_TOKENS: no tokens configured" -- DATABASE_URL=$url "$bin" serve
check ws-no-token 2 "MCP_ENABLED: true needs a token for /mcp/ws; set MCP_TOKEN or MCP_AUTH_TOKENS" -- \
  MCP_ENABLED=true DATABASE_URL=$url "$bin" serve --insecure-no-auth
check ws-bad-model 2 "MCP_ALLOWED_MODELS: 'secret_stuff.keys' is outside MCP_READABLE_SCHEMAS" -- \
  MCP_ALLOWED_MODELS=users,secret_stuff.keys DATABASE_URL=$url MCP_AUTH_TOKENS=a:tok12345678 "$bin" serve
check policy-missing 2 "MCP_POLICY_FILE /nonexistent/policy.toml: cannot be read" -- \
  MCP_POLICY_FILE=/nonexistent/policy.toml DATABASE_URL=$url MCP_AUTH_TOKENS=a:tok12345678 "$bin" serve
check oauth-without-audience 2 "MCP_OAUTH_AUDIENCE: must be set with MCP_OAUTH_ISSUERS" -- \
  MCP_OAUTH_ISSUERS=https://id.example.com DATABASE_URL=$url "$bin" serve
check insecure-public 2 "--insecure-no-auth: refused with MCP_HOST=0.0.0.0" -- \
  MCP_HOST=0.0.0.0 DATABASE_URL=$url "$bin" serve --insecure-no-auth
check fixtures-public 2 "--conformance-fixtures: refused with MCP_HOST=0.0.0.0" -- \
  MCP_HOST=0.0.0.0 MCP_AUTH_TOKENS=a:abcdefghij DATABASE_URL=$url "$bin" serve --conformance-fixtures
check missing-config 2 "cannot be read" -- DATABASE_URL=$url "$bin" serve --config /nonexistent/fleetmcp.env
check demo-bad-scale 2 "demo: --scale must be a number" -- "$bin" demo --scale lots
check demo-bad-option 2 "demo: unknown option '--fast'" -- "$bin" demo --fast
# role-sql: column-level grants by default, the shipped script is its default
# output, and the opt-out is loud (stderr and the SQL itself).
check role-sql-empty-exclusions 2 "pass --whole-table-grants to grant whole tables on purpose" -- \
  "$bin" role-sql --exclude-columns ''
check role-sql-whole-tables-warns 0 "WARNING: --whole-table-grants: the role will read every sensitive column" -- \
  "$bin" role-sql --whole-table-grants
shipped=$(dirname "$0")/../../scripts/analytics_ro_role.sql
if env -i PATH="$PATH" "$bin" role-sql 2>/dev/null | cmp -s - "$shipped"; then pass=$((pass + 1)); else
  echo "FAIL $shipped is not the output of 'fleetmcp role-sql' (regenerate: env -i fleetmcp role-sql > $shipped)"
  failures=$((failures + 1))
fi
sql=$(env -i PATH="$PATH" "$bin" role-sql --whole-table-grants 2>/dev/null)
if [[ $sql == *"-- WARNING: whole-table grants"*"ARE READABLE"* && $sql == *"excluded text[] := ARRAY[]::text[]"* ]]; then
  pass=$((pass + 1))
else
  echo "FAIL role-sql --whole-table-grants: no warning comment or a non-empty exclusion list"
  failures=$((failures + 1))
fi

# The bootstrap, with a psql that records what it is sent: the grants of the
# shipped script, and a SCRAM verifier in place of the password.
stub=$(mktemp -d)
trap 'rm -rf "$stub"' EXIT
cat > "$stub/psql" <<'STUB'
#!/usr/bin/env bash
if [[ " $* " == *" -f - "* ]]; then cat >> "$(dirname "$0")/sent"; else echo tracksolid_db; fi
STUB
chmod +x "$stub/psql"
(umask 077 && echo cli-test-password-0123456789 > "$stub/pw")
bootstrap=$(dirname "$0")/../../scripts/bootstrap_analytics_ro.sh
check bootstrap-column-grants 0 "tables with sensitive columns have column-level grants" -- \
  PATH="$stub:$PATH" HOME="$stub" "$bootstrap" --pw-file "$stub/pw" --sql "$shipped"
sent=$(cat "$stub/sent" 2>/dev/null)
if [[ $sent == *"\set ro_pw 'SCRAM-SHA-256\$4096:"* && $sent != *cli-test-password* &&
      $sent == *"excluded text[] := ARRAY['password_hash', "* ]]; then
  pass=$((pass + 1))
else
  echo "FAIL bootstrap sent the password itself, or not the shipped grants: $(head -c 300 <<<"$sent")"
  failures=$((failures + 1))
fi
check bootstrap-whole-tables-warns 0 "WARNING: whole-table grants" -- \
  PATH="$stub:$PATH" HOME="$stub" "$bootstrap" --pw-file "$stub/pw" --fleetmcp "$bin" --whole-table-grants
check bootstrap-whole-tables-needs-binary 1 "--whole-table-grants needs the fleetmcp binary" -- \
  PATH="$stub:$PATH" HOME="$stub" "$bootstrap" --pw-file "$stub/pw" --sql "$shipped" --whole-table-grants

# One line, not a stack trace.
lines=$(env -i MCP_PORT=abc DATABASE_URL=$url "$bin" serve 2>&1 | wc -l)
if [[ $lines == 1 ]]; then pass=$((pass + 1)); else echo "FAIL bad config printed $lines lines"; failures=$((failures + 1)); fi

# stdio: a ping answered on stdout, nothing else there, exit at EOF.
out=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"ping"}' | env -i DATABASE_URL=$url "$bin" stdio 2>/dev/null)
if [[ $out == '{"id":1,"jsonrpc":"2.0","result":{}}' ]]; then pass=$((pass + 1)); else
  echo "FAIL stdio ping: $out"
  failures=$((failures + 1))
fi

# stdio under hostile input: 100,000 levels of nesting and wrongly typed
# params each get an error line; the next request is answered; exit at EOF.
deep=$(printf '%*s' 100000 '' | tr ' ' '[')$(printf '%*s' 100000 '' | tr ' ' ']')
out=$({
  printf '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":%s}}\n' "$deep"
  printf '%s\n' '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT 1"},"_meta":"x"}}'
  printf '%s\n' '{"jsonrpc":"2.0","id":3,"method":"completion/complete","params":{"ref":{"type":5},"argument":{"name":"a","value":"b"}}}'
  printf '%s\n' '{"jsonrpc":"2.0","id":4,"method":"ping"}'
} | env -i DATABASE_URL=$url timeout 30 "$bin" stdio 2>/dev/null)
if [[ $(grep -c '"code":-3260[02]' <<<"$out") == 3  ]] && grep -qF '{"id":4,"jsonrpc":"2.0","result":{}}' <<<"$out"; then
  pass=$((pass + 1))
else
  echo "FAIL stdio hostile input: $out"
  failures=$((failures + 1))
fi

# A last line without its newline is still answered.
out=$(printf '%s' '{"jsonrpc":"2.0","id":6,"method":"ping"}' | env -i DATABASE_URL=$url timeout 30 "$bin" stdio 2>/dev/null)
if [[ $out == '{"id":6,"jsonrpc":"2.0","result":{}}' ]]; then pass=$((pass + 1)); else
  echo "FAIL stdio last line without newline: $out"
  failures=$((failures + 1))
fi

# DATABASE_URL goes through libpq's parser at start; the password is not echoed.
check url-slash-in-password 2 "must be percent-encoded (/ is %2F" -- \
  DATABASE_URL='postgresql://analytics_ro:pa/ss@db.internal:5432/fleet' MCP_AUTH_TOKENS=a:aaaaaaaaaa "$bin" serve
out=$(env -i DATABASE_URL='postgresql://analytics_ro:pa/ss@db.internal:5432/fleet' "$bin" doctor 2>&1)
if [[ $out == *pa/ss* || $out == *ss@* ]]; then
  echo "FAIL the refused DATABASE_URL's password was echoed: $out"
  failures=$((failures + 1))
fi

# token new: the whole list or only the entry, never a one-entry line that
# would revoke the others; --write edits the --config file, keeping its mode.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
printf '# tokens\nMCP_AUTH_TOKENS=bob:bbbbbbbbbbbb,alice:aaaaaaaaaaaa\nMCP_MAX_ROWS=50\n' >"$scratch/f.env"
chmod 640 "$scratch/f.env"
check token-entry-only 0 "entry: carol:" -- "$bin" token new carol
out=$(env -i PATH="$PATH" "$bin" token new carol 2>/dev/null)
[[ $out != *MCP_AUTH_TOKENS=* ]] && pass=$((pass + 1)) || { echo "FAIL token new without a list printed a line: $out"; failures=$((failures + 1)); }
check token-from-config 0 "MCP_AUTH_TOKENS=bob:bbbbbbbbbbbb,alice:" -- "$bin" token new alice --config "$scratch/f.env"
check token-from-environment 0 "MCP_AUTH_TOKENS=x:xxxxxxxxxx,carol:" -- MCP_AUTH_TOKENS=x:xxxxxxxxxx "$bin" token new carol
check token-write-needs-config 2 "--write edits the file named by --config FILE" -- "$bin" token new carol --write
check token-write 0 "Wrote MCP_AUTH_TOKENS" -- "$bin" token new carol --config "$scratch/f.env" --write
if grep -qx 'MCP_AUTH_TOKENS=bob:bbbbbbbbbbbb,alice:aaaaaaaaaaaa,carol:[0-9a-f]\{48\}' "$scratch/f.env" &&
  grep -qx '# tokens' "$scratch/f.env" && grep -qx 'MCP_MAX_ROWS=50' "$scratch/f.env" &&
  [[ $(stat -c %a "$scratch/f.env") == 640 && $(ls -A "$scratch") == f.env ]]; then
  pass=$((pass + 1))
else
  echo "FAIL token new --write: $(cat "$scratch/f.env"; stat -c %a "$scratch/f.env"; ls -A "$scratch")"
  failures=$((failures + 1))
fi

# Every command takes --config FILE.
printf 'MCP_REDACT_COLUMNS=secret_sauce\nMCP_READABLE_SCHEMAS=only_this\n' >"$scratch/role.env"
check role-sql-config 0 "'secret_sauce'" -- "$bin" role-sql --config "$scratch/role.env"
check role-sql-config-schemas 0 "ARRAY['only_this']" -- "$bin" role-sql --config "$scratch/role.env"
printf 'MCP_REDACT_COLUMNS=secret_sauce\n' >"$scratch/guard.env"
check check-sql-config 1 "rule: sensitive_column" -- "$bin" check-sql --config "$scratch/guard.env" "SELECT secret_sauce FROM t"
check config-missing-file 2 "cannot be read" -- "$bin" check-sql --config "$scratch/none.env" "SELECT 1"

echo "$pass passed, $failures failed"
[[ $failures == 0 ]]
