#!/usr/bin/env bash
# The shipped deploy files against the binary and the tools that read them.
#
#   tests/deploy/files_test.sh FLEETMCP_BIN env       deploy/fleetmcp.env.example documents every
#                                                     setting of `fleetmcp --help`, no other, each
#                                                     once; a commented value is the default or
#                                                     is called an example; all of them start
#   tests/deploy/files_test.sh FLEETMCP_BIN systemd   deploy/fleetmcp.service passes
#                                                     systemd-analyze verify (also with its
#                                                     LoadCredential= lines on), keeps its
#                                                     hardening, is not restarted after exit 2
#   tests/deploy/files_test.sh FLEETMCP_BIN compose   deploy/compose.yaml is valid YAML whose
#                                                     fleetmcp health check asks /readyz
#
# Exit 77 (skipped) when the tool a part needs (systemd-analyze, python3 with
# PyYAML) is not installed.
set -uo pipefail
bin=${1:?usage: files_test.sh FLEETMCP_BIN env|systemd|compose}
part=${2:?usage: files_test.sh FLEETMCP_BIN env|systemd|compose}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR
source "$here/lib.sh"
[[ -x $bin ]] || { echo "FAIL $bin is not executable"; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/fleetmcp-files-test.XXXXXX")
server_pid=""
trap 'stop_pid "$server_pid"; rm -rf "$dir"' EXIT

env_part() {
  local example=$root/deploy/fleetmcp.env.example
  # The settings and their defaults, as `fleetmcp --help` lists them:
  # "  NAME   description (default: VALUE)".
  env -i PATH="$PATH" "$bin" --help |
    awk '/^Settings/ { on = 1; next } on && /^$/ { exit } on && /^  [A-Z][A-Z0-9_]+ / { print }' |
    sed -E 's/^  ([A-Z0-9_]+) .*\(default: (.*)\)$/\1=\2/' >"$dir/defaults"
  local count
  count=$(grep -c '=' "$dir/defaults")
  if ((count >= 20)); then ok; else fail "fleetmcp --help lists only $count settings: $(cat "$dir/defaults")"; fi

  local name default line value
  while IFS= read -r line; do
    name=${line%%=*}
    default=${line#*=}
    if [[ $name == "$line" ]]; then fail "no default found in help line for $name"; continue; fi
    case $(grep -cE "^#?$name=" "$example") in
      1) ok ;;
      0) fail "$name (in fleetmcp --help) is missing from deploy/fleetmcp.env.example" ;;
      *) fail "$name appears more than once in deploy/fleetmcp.env.example" ;;
    esac
  done <"$dir/defaults"

  # Every KEY= line of the file is a setting the binary knows, and a commented
  # value is the default unless the comment right above it says "Example".
  local prev=""
  while IFS= read -r line; do
    if [[ $line =~ ^#?([A-Z][A-Z0-9_]*)=(.*)$ ]]; then
      name=${BASH_REMATCH[1]}
      value=${BASH_REMATCH[2]}
      if ! grep -q "^$name=" "$dir/defaults"; then
        fail "deploy/fleetmcp.env.example sets $name, which fleetmcp --help does not list"
      elif [[ $line == \#* ]]; then
        default=$(grep "^$name=" "$dir/defaults" | cut -d= -f2-)
        if [[ $value == "$default" || $prev == *Example* ]]; then ok; else
          fail "deploy/fleetmcp.env.example: #$name=$value is not the default ($default); say 'Example' in the comment above it"
        fi
      fi
      prev=""
    elif [[ $line == \#* ]]; then
      prev+=" ${line#\#}"
    else
      prev=""
    fi
  done <"$example"

  # Every value in the file is one fleetmcp accepts: all lines uncommented, the
  # server starts (the database is unreachable on purpose: it starts anyway).
  # (The policy file's example path is the shipped example: it must parse too.)
  sed -E -e 's/^#([A-Z][A-Z0-9_]*=)/\1/' -e "s|^MCP_POLICY_FILE=.*|MCP_POLICY_FILE=$root/deploy/policy.example.toml|" \
    "$example" >"$dir/all.env"
  local port
  pick_port port || return
  env -i PATH="$PATH" HOME="$dir" MCP_PORT="$port" DATABASE_URL="postgresql://nobody@127.0.0.1:1/none" \
    MCP_CONNECT_TIMEOUT_MS=200 "$bin" serve --config "$dir/all.env" >"$dir/serve.out" 2>"$dir/serve.err" &
  server_pid=$!
  if wait_for_port "$port" "$server_pid" 15; then ok; else
    fail "fleetmcp serve --config (every line of deploy/fleetmcp.env.example uncommented) did not start: $(cat "$dir/serve.err")"
  fi
  stop_pid "$server_pid"
  server_pid=""
}

systemd_part() {
  command -v systemd-analyze >/dev/null || { echo "SKIPPED: systemd-analyze not installed"; exit 77; }
  local unit=$root/deploy/fleetmcp.service out
  # verify wants ExecStart's binary to exist: the one under test stands in for
  # /usr/local/bin/fleetmcp.
  sed -e "s|/usr/local/bin/fleetmcp|$bin|" "$unit" >"$dir/fleetmcp.service"
  mkdir -p "$dir/with-credentials"
  sed -e 's/^#LoadCredential=/LoadCredential=/' "$dir/fleetmcp.service" >"$dir/with-credentials/fleetmcp.service"
  for f in "$dir/fleetmcp.service" "$dir/with-credentials/fleetmcp.service"; do
    # Unknown keys and bad values are warnings with exit 0: any output fails.
    out=$(systemd-analyze verify "$f" 2>&1)
    if [[ $? == 0 && -z $out ]]; then ok; else fail "systemd-analyze verify ${f#"$dir"/}: $out"; fi
  done
  if grep -q '^LoadCredential=root.crt:' "$dir/with-credentials/fleetmcp.service"; then ok; else
    fail "deploy/fleetmcp.service has no (commented) LoadCredential=root.crt line"
  fi
  if grep -q '/run/credentials/fleetmcp.service/root.crt' "$unit"; then ok; else
    fail "deploy/fleetmcp.service does not say where the credential appears"
  fi
  if grep -qx 'RestartPreventExitStatus=2' "$unit"; then ok; else
    fail "deploy/fleetmcp.service lacks RestartPreventExitStatus=2"
  fi
  # The hardening: systemd's own exposure score stays where the docs say (1.1, OK).
  out=$(systemd-analyze security --offline=true "$dir/fleetmcp.service" 2>&1 | grep 'Overall exposure level')
  local score
  score=$(sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p' <<<"$out")
  if [[ -n $score ]] && awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }'; then ok; else
    fail "systemd-analyze security: exposure ${score:-?} above 1.5 (the hardening was weakened?): $out"
  fi
}

compose_part() {
  python3 -c 'import yaml' 2>/dev/null || { echo "SKIPPED: python3 with PyYAML not installed"; exit 77; }
  local out
  out=$(python3 - "$root/deploy/compose.yaml" <<'PY' 2>&1
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
fleet = doc["services"]["fleetmcp"]
test = " ".join(fleet["healthcheck"]["test"])
assert "http://127.0.0.1:8892/readyz" in test, f"fleetmcp health check: {test}"
assert fleet["depends_on"]["db"]["condition"] == "service_healthy", "fleetmcp must wait for a healthy db"
assert fleet["ports"] == ["127.0.0.1:8892:8892"], f"published beyond loopback: {fleet['ports']}"
assert "ports" not in doc["services"]["db"], "the database must not be published"
print("ok")
PY
)
  if [[ $out == ok ]]; then ok; else fail "deploy/compose.yaml: $out"; fi
  if grep -q 'applied only when the volume' "$root/deploy/compose.yaml"; then ok; else
    fail "deploy/compose.yaml does not say when ANALYTICS_RO_PASSWORD is applied"
  fi
}

case $part in
  env) env_part ;;
  systemd) systemd_part ;;
  compose) compose_part ;;
  *) echo "unknown part '$part'"; exit 2 ;;
esac
finish
