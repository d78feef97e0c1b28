#!/usr/bin/env bash
# Starts and stops a private PostgreSQL 15 cluster for tests: initdb into a
# directory, a free loopback port, scram passwords, run as the unprivileged
# 'postgres' user when invoked as root (initdb refuses root).
#
#   pg_cluster.sh start DIR [FIXTURE.sql]   -> writes DIR/env (sourceable); a DIR
#                                            that holds a cluster already is reused
#   pg_cluster.sh halt DIR                  (stops it, keeps the data for reuse)
#   pg_cluster.sh stop DIR                  (stops it and deletes DIR)
#   pg_cluster.sh restart DIR              (pg_ctl restart -m fast)
#   pg_cluster.sh standby PRIMARY_DIR DIR  (a streaming standby: pg_basebackup -R)
#   pg_cluster.sh pgbouncer DIR            (PgBouncer in transaction mode in front of
#                                           DIR's cluster; writes DIR/pgbouncer/env;
#                                           PGBOUNCER_SETTINGS adds lines to its ini)
# PG_CLUSTER_FIXTURE_ARGS adds psql arguments for the fixture (e.g. -v scale=0.1);
# PG_CLUSTER_PROGRESS=1 shows the fixture's progress lines;
# PG_CLUSTER_PORT=N picks the port instead of a random free one;
# PG_CLUSTER_RO_PASSWORD sets the read-only role's password (random otherwise).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cmd=${1:?usage: pg_cluster.sh start|stop|restart DIR [FIXTURE]}
dir=${2:?usage: pg_cluster.sh start|stop|restart DIR [FIXTURE]}
fixture=${3:-}

as_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case $cmd in
start)
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
  "${psql[@]}" -d tracksolid_db -v ro_pw="$ro_pw" -f "$root/scripts/analytics_ro_role.sql" >/dev/null
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
  if [[ -f $dir/pgbouncer/pgbouncer.pid ]]; then
    kill "$(cat "$dir/pgbouncer/pgbouncer.pid")" 2>/dev/null || true
  fi
  if [[ -d $dir/data ]]; then
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
standby)
  primary=$dir
  standby=${3:?usage: pg_cluster.sh standby PRIMARY_DIR DIR}
  # shellcheck disable=SC1091
  source "$primary/env"
  mkdir -p "$standby"
  standby=$(cd "$standby" && pwd)
  [[ $(id -u) == 0 ]] && chown postgres: "$standby"
  super_pw=$(sed -n "s|.*postgresql://postgres:\([^@]*\)@.*|\1|p" "$primary/env" | head -1)
  as_owner env PGPASSWORD="$super_pw" "$PGBIN/pg_basebackup" -D "$standby/data" -R -X stream -c fast \
    -h 127.0.0.1 -p "$FLEETMCP_TEST_PORT" -U postgres >"$standby/basebackup.log" 2>&1 ||
    { cat "$standby/basebackup.log" >&2; exit 1; }
  for _ in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    port_free "$port" || continue
    # The copied configuration names the primary's port and socket directory.
    as_owner tee -a "$standby/data/postgresql.auto.conf" >/dev/null <<CONF
port = $port
unix_socket_directories = '$standby'
CONF
    if as_owner "$PGBIN/pg_ctl" -D "$standby/data" -l "$standby/server.log" -w -t 60 start >/dev/null 2>&1; then
      sed "s|127.0.0.1:$FLEETMCP_TEST_PORT|127.0.0.1:$port|g; s|FLEETMCP_TEST_PORT='$FLEETMCP_TEST_PORT'|FLEETMCP_TEST_PORT='$port'|; s|$primary/data|$standby/data|" \
        "$primary/env" > "$standby/env"
      echo "pg_cluster: standby on 127.0.0.1:$port ($standby)"
      exit 0
    fi
  done
  echo "pg_cluster: could not start the standby" >&2
  cat "$standby/server.log" >&2
  exit 1
  ;;
pgbouncer)
  # shellcheck disable=SC1091
  source "$dir/env"
  bouncer="$dir/pgbouncer"
  mkdir -p "$bouncer"
  [[ $(id -u) == 0 ]] && chown postgres: "$bouncer"
  ro_pw=$(sed -n "s|.*postgresql://analytics_ro:\([^@]*\)@.*|\1|p" "$dir/env" | head -1)
  for _ in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    port_free "$port" || continue
    as_owner tee "$bouncer/userlist.txt" >/dev/null <<USERS
"analytics_ro" "$ro_pw"
USERS
    # Transaction pooling: a server connection serves whichever client has a
    # transaction, so nothing session-level may be set. 'options' (fleetmcp's
    # default_transaction_read_only=on) cannot be carried per client: ignore it;
    # the role's own setting and BEGIN READ ONLY still hold.
    as_owner tee "$bouncer/pgbouncer.ini" >/dev/null <<INI
[databases]
tracksolid_db = host=127.0.0.1 port=$FLEETMCP_TEST_PORT dbname=tracksolid_db
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $bouncer/userlist.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
ignore_startup_parameters = options, extra_float_digits
logfile = $bouncer/pgbouncer.log
pidfile = $bouncer/pgbouncer.pid
${PGBOUNCER_SETTINGS:-}
INI
    if as_owner pgbouncer -d "$bouncer/pgbouncer.ini" >/dev/null 2>&1 &&
       for _ in $(seq 50); do ! port_free "$port" && break; sleep 0.1; done && ! port_free "$port"; then
      sed "s|FLEETMCP_TEST_DATABASE_URL='postgresql://analytics_ro:$ro_pw@127.0.0.1:$FLEETMCP_TEST_PORT/|FLEETMCP_TEST_DATABASE_URL='postgresql://analytics_ro:$ro_pw@127.0.0.1:$port/|" \
        "$dir/env" > "$bouncer/env"
      echo "export FLEETMCP_TEST_POOLER='pgbouncer'" >> "$bouncer/env"
      echo "pg_cluster: PgBouncer (transaction mode) on 127.0.0.1:$port"
      exit 0
    fi
  done
  echo "pg_cluster: could not start PgBouncer" >&2
  cat "$bouncer/pgbouncer.log" >&2 2>/dev/null
  exit 1
  ;;
halt)
  as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
restart)
  as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null
  ;;
*)
  echo "usage: pg_cluster.sh start|halt|stop|restart DIR [FIXTURE]" >&2
  exit 2
  ;;
esac
