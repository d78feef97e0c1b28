#!/usr/bin/env bash
# Starts and stops a private PostgreSQL 15 cluster: initdb into a directory, a
# free loopback port, scram passwords, the read-only role (analytics_ro_role.sql
# beside this script), run as the unprivileged 'postgres' user when invoked as
# root (initdb refuses root). `fleetmcp demo` runs it from where the package
# installed it (share/fleetmcp/scripts) or from the checkout; the tests run it
# through tests/harness/pg_cluster.sh, which adds a standby and PgBouncer.
#
#   pg_cluster.sh start DIR [FIXTURE.sql]   -> writes DIR/env (sourceable); a DIR
#                                            that holds a cluster already is reused
#   pg_cluster.sh halt DIR                  (stops it, keeps the data for reuse)
#   pg_cluster.sh stop DIR                  (stops it and deletes DIR)
# DIR/env's variables are named FLEETMCP_TEST_* whoever started the cluster.
# PG_CLUSTER_FIXTURE_ARGS adds psql arguments for the fixture (e.g. -v scale=0.1);
# PG_CLUSTER_PROGRESS=1 shows the fixture's progress lines;
# PG_CLUSTER_PORT=N picks the port instead of a random free one;
# PG_CLUSTER_RO_PASSWORD sets the read-only role's password (random otherwise).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?usage: pg_cluster.sh start|halt|stop DIR [FIXTURE]}
dir=${2:?usage: pg_cluster.sh start|halt|stop DIR [FIXTURE]}
fixture=${3:-}

as_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case $cmd in
start)
  # The package only recommends PostgreSQL: say what is missing.
  [[ -x $PGBIN/initdb ]] ||
    { echo "pg_cluster: PostgreSQL 15 is not installed ($PGBIN/initdb; Debian: apt-get install postgresql-15)" >&2; exit 1; }
  for tool in psql openssl; do
    command -v "$tool" >/dev/null || { echo "pg_cluster: $tool not found (Debian: apt-get install postgresql-15 openssl)" >&2; exit 1; }
  done
  if [[ -f $dir/env && -d $dir/data ]]; then
    # Reuse: start the existing cluster on its recorded port.
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1 ||
      as_owner "$PGBIN/pg_ctl" -D "$dir/data" status >/dev/null || {
        echo "pg_cluster: could not restart the cluster in $dir (see $dir/server.log)" >&2
        exit 1
      }
    echo "pg_cluster: reusing the cluster in $dir"
    exit 0
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [[ $(id -u) == 0 ]] && chown postgres: "$dir"
  super_pw=$(openssl rand -hex 16)
  ro_pw=${PG_CLUSTER_RO_PASSWORD:-$(openssl rand -hex 16)}
  pwfile=$(mktemp)
  echo "$super_pw" > "$pwfile"
  [[ $(id -u) == 0 ]] && chown postgres: "$pwfile"
  as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 --pwfile="$pwfile" \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$pwfile"
  started=""
  for _ in 1 2 3 4 5 6 7 8; do
    port=${PG_CLUSTER_PORT:-$((20000 + RANDOM % 40000))}
    port_free "$port" || { [[ -n ${PG_CLUSTER_PORT:-} ]] && break; continue; }
    as_owner tee "$dir/data/postgresql.auto.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
log_min_messages = warning
CONF
    if as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
      started=1
      break
    fi
  done
  [[ -n $started ]] || { echo "pg_cluster: could not start PostgreSQL" >&2; cat "$dir/server.log" >&2; exit 1; }
  export PGPASSWORD=$super_pw
  psql=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres)
  "${psql[@]}" -d postgres -c "CREATE DATABASE tracksolid_db"
  if [[ -n $fixture ]]; then
    # shellcheck disable=SC2086  # the extra arguments are words on purpose
    if [[ -n ${PG_CLUSTER_PROGRESS:-} ]]; then
      "${psql[@]}" -d tracksolid_db ${PG_CLUSTER_FIXTURE_ARGS:-} -f "$fixture"
    else
      "${psql[@]}" -d tracksolid_db ${PG_CLUSTER_FIXTURE_ARGS:-} -f "$fixture" >/dev/null
    fi
  fi
  "${psql[@]}" -d tracksolid_db -v ro_pw="$ro_pw" -f "$here/analytics_ro_role.sql" >/dev/null
  cat > "$dir/env" <<ENV
export FLEETMCP_TEST_PGDATA='$dir/data'
export FLEETMCP_TEST_PGBIN='$PGBIN'
export FLEETMCP_TEST_PORT='$port'
export FLEETMCP_TEST_ADMIN_URL='postgresql://postgres:$super_pw@127.0.0.1:$port/tracksolid_db'
export FLEETMCP_TEST_DATABASE_URL='postgresql://analytics_ro:$ro_pw@127.0.0.1:$port/tracksolid_db'
ENV
  echo "pg_cluster: PostgreSQL on 127.0.0.1:$port ($dir)"
  ;;
stop)
  if [[ -d $dir/data ]]; then
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
halt)
  as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
*)
  echo "usage: pg_cluster.sh start|halt|stop DIR [FIXTURE]" >&2
  exit 2
  ;;
esac
