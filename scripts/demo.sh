#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds fleetmcp, and runs
# `fleetmcp demo`: a private PostgreSQL cluster in ~/.cache/fleetmcp/demo (started
# by the same launcher the tests use), filled the first time with the synthetic
# fleet dataset (data/fleet_demo.sql; FLEETMCP_DEMO_SCALE, default 1: 500
# vehicles, 1.6 million positions, 30 days ending yesterday in Africa/Nairobi),
# served on 127.0.0.1:8892 with a fresh token. Ctrl-C stops the server and the
# cluster; the data stays for the next run, which starts in seconds (after
# moving the data forward, once a day has passed: data/fleet_demo_shift.sql).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target fleetmcp
args=(demo --scale "${FLEETMCP_DEMO_SCALE:-1}")
[[ -n ${FLEETMCP_DEMO_DIR:-} ]] && args+=(--dir "$FLEETMCP_DEMO_DIR")
exec build/release/fleetmcp "${args[@]}"
