#!/usr/bin/env bash
# The README's demo command: builds fleetmcp, starts (or reuses) a private
# PostgreSQL cluster in ~/.cache/fleetmcp/demo filled with the sample fleet
# dataset, and serves it on 127.0.0.1:8892 with a fresh token. Ctrl-C stops
# the server and the cluster; the data stays for the next run.
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
bash tests/harness/pg_cluster.sh start "$cache" "$root/tests/fixtures/fleet_small.sql"
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
  - Which schemas and tables can you see in the fleet database?
  - How many GPS positions does each device have, and what was its top speed?
  - List the open tickets and their SLA status.

Ctrl-C stops the server and the database.

MSG
DATABASE_URL=$FLEETMCP_TEST_DATABASE_URL MCP_AUTH_TOKENS="demo:$token" MCP_PORT=$port \
  "$root/build/release/fleetmcp" serve
