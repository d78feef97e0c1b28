#!/usr/bin/env bash
# Init step of deploy/compose.yaml, run once by the postgres image on an empty
# volume (after the PostGIS image's own 10_postgis.sh): loads the demo fleet data
# and creates the read-only role fleetmcp connects as. Keep it executable: the
# image runs executable scripts and only sources the others.
set -eo pipefail
: "${ANALYTICS_RO_PASSWORD:?set ANALYTICS_RO_PASSWORD}"
# It goes into DATABASE_URL and psql unquoted: plain characters only.
[[ $ANALYTICS_RO_PASSWORD =~ ^[A-Za-z0-9._~-]{16,}$ ]] ||
  { echo "initdb-fleet: ANALYTICS_RO_PASSWORD needs 16+ characters from A-Z a-z 0-9 . _ ~ -" >&2; exit 1; }
psql=(psql -X -q -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB")
"${psql[@]}" -v scale="${FLEET_DEMO_SCALE:-0.05}" -f /fleet/fleet_demo.sql
# The password reaches psql on stdin, not on its command line.
{ printf '\\set ro_pw %s\n' "$ANALYTICS_RO_PASSWORD"; cat /fleet/analytics_ro_role.sql; } | "${psql[@]}" -f -
echo "initdb-fleet: demo data loaded, analytics_ro ready"
