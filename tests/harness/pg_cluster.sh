#!/usr/bin/env bash
# The tests' PostgreSQL clusters. start, halt and stop are the product's
# launcher, scripts/pg_cluster.sh (the one `fleetmcp demo` runs); a restart, a
# streaming standby and PgBouncer in front are the tests' own.
#
#   pg_cluster.sh start DIR [FIXTURE.sql]   -> writes DIR/env (sourceable); a DIR
#                                            that holds a cluster already is reused
#   pg_cluster.sh halt DIR                  (stops it, keeps the data for reuse)
#   pg_cluster.sh stop DIR                  (stops it, PgBouncer too, and deletes DIR)
#   pg_cluster.sh restart DIR              (pg_ctl restart -m fast)
#   pg_cluster.sh standby PRIMARY_DIR DIR  (a streaming standby: pg_basebackup -R)
#   pg_cluster.sh pgbouncer DIR            (PgBouncer in transaction mode in front of
#                                           DIR's cluster; writes DIR/pgbouncer/env;
#                                           PGBOUNCER_SETTINGS adds lines to its ini)
# The PG_CLUSTER_* variables of scripts/pg_cluster.sh apply.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
here=$(cd "$(dirname "$0")" && pwd)
launcher=$here/../../scripts/pg_cluster.sh
cmd=${1:?usage: pg_cluster.sh start|halt|stop|restart|standby|pgbouncer DIR}
dir=${2:?usage: pg_cluster.sh start|halt|stop|restart|standby|pgbouncer DIR}

as_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case $cmd in
start | halt)
  exec bash "$launcher" "$@"
  ;;
stop)
  if [[ -f $dir/pgbouncer/pgbouncer.pid ]]; then
    kill "$(cat "$dir/pgbouncer/pgbouncer.pid")" 2>/dev/null || true
  fi
  exec bash "$launcher" "$@"
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
restart)
  as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null
  ;;
*)
  echo "usage: pg_cluster.sh start|halt|stop|restart|standby|pgbouncer DIR [...]" >&2
  exit 2
  ;;
esac
