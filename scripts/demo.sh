#!/usr/bin/env bash
# The README's demo command: builds fleetmcp, starts (or reuses) a private
# PostgreSQL cluster in ~/.cache/fleetmcp/demo filled, the first time, with the
# synthetic fleet dataset (data/fleet_demo.sql; FLEETMCP_DEMO_SCALE, default 1:
# 500 vehicles, 1.6 million positions), and serves it on 127.0.0.1:8892 with a
# fresh token. Ctrl-C stops the server and the cluster; the data stays for the
# next run, which starts in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target fleetmcp

cache=${FLEETMCP_DEMO_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetmcp/demo}
if [[ $(id -u) == 0 && $cache == /root/* ]]; then
  # The cluster runs as the unprivileged 'postgres' user, who cannot enter /root.
  cache=/var/tmp/fleetmcp-demo
fi
mkdir -p "$(dirname "$cache")"
echo "Starting the demo database in $cache ..."
[[ -f $cache/env ]] || echo "First run: generating the fleet dataset inside PostgreSQL (about a minute) ..."
PG_CLUSTER_PROGRESS=1 PG_CLUSTER_FIXTURE_ARGS="-v scale=${FLEETMCP_DEMO_SCALE:-1}" \
  bash tests/harness/pg_cluster.sh start "$cache" "$root/data/fleet_demo.sql"
trap 'echo; echo "Stopping the demo database ..."; bash "$root/tests/harness/pg_cluster.sh" halt "$cache"' EXIT
# shellcheck disable=SC1091
source "$cache/env"

token=$(openssl rand -hex 24)
port=${MCP_PORT:-8892}
cat <<MSG

fleetmcp is starting on http://127.0.0.1:$port/mcp
  token:    $token

Add it to Claude Code:
  claude mcp add --transport http fleet http://127.0.0.1:$port/mcp --header "Authorization: Bearer $token"

Then ask, for example:
  - Which cost centres drove the most kilometres last week, and which vehicles led them?
  - Which open incidents have breached their SLA, by region?
  - Which vehicles used the most fuel per 100 km this month?

Ctrl-C stops the server and the database.

MSG
DATABASE_URL=$FLEETMCP_TEST_DATABASE_URL MCP_AUTH_TOKENS="demo:$token" MCP_PORT=$port \
  "$root/build/release/fleetmcp" serve
