#!/usr/bin/env bash
# bootstrap_analytics_ro.sh: create or refresh analytics_ro, the read-only role
# fleetmcp connects as, with the grants of `fleetmcp role-sql`.
#
#   scripts/bootstrap_analytics_ro.sh [--dsn CONNINFO] [--pw-file PATH] [--rotate]
#                                     [--fleetmcp BIN | --sql FILE] [--whole-table-grants]
#
# Connect as a superuser to the fleet database: with --dsn (a libpq URL or
# "key=value" string), else through the usual PG* variables (PGHOST, PGPORT,
# PGUSER, PGDATABASE, PGPASSWORD or ~/.pgpass). A password in --dsn is visible
# in the process list while psql runs; prefer PGPASSWORD or ~/.pgpass.
#
# The grants: SELECT on every table and view of MCP_READABLE_SCHEMAS, except
# that tables with sensitive columns (MCP_REDACT_COLUMNS: password_hash, api_key,
# token, ...) get SELECT on their other columns only, so the database refuses
# even row_to_json(t). They come from `BIN role-sql` (--fleetmcp BIN, else the
# fleetmcp on PATH, else this checkout's build/release/fleetmcp), which honours
# MCP_READABLE_SCHEMAS and MCP_REDACT_COLUMNS from the environment; without a
# binary, from scripts/analytics_ro_role.sql (the same output for the default
# settings); or from --sql FILE. --whole-table-grants (needs the binary) makes
# the sensitive columns readable, and says so.
#
# The role's password lives in a 0600 file (--pw-file, else $ANALYTICS_RO_PW_FILE,
# else ~/.analytics_ro.pw): generated on the first run, reused afterwards, never
# printed, and handed to psql on its standard input, not its command line.
# Re-running is safe: it re-applies the grants (new tables become readable, never
# wider than the rules above) with the same password. --rotate writes a new password first.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dsn=""
pw_file=${ANALYTICS_RO_PW_FILE:-$HOME/.analytics_ro.pw}
sql_file=""
fleetmcp=""
whole_tables=""
rotate=""

usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "bootstrap_analytics_ro: $*" >&2; exit 1; }

while (($#)); do
  case $1 in
    --dsn) dsn=${2:?--dsn needs a value}; shift 2 ;;
    --pw-file) pw_file=${2:?--pw-file needs a path}; shift 2 ;;
    --sql) sql_file=${2:?--sql needs a path}; shift 2 ;;
    --fleetmcp) fleetmcp=${2:?--fleetmcp needs a path}; shift 2 ;;
    --whole-table-grants) whole_tables=1; shift ;;
    --rotate) rotate=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

command -v psql >/dev/null || die "psql not found (Debian: apt-get install postgresql-client)"
command -v openssl >/dev/null || die "openssl not found"
[[ -n $sql_file && -n $fleetmcp ]] && die "--sql and --fleetmcp exclude each other"

# Where the grants come from (see the top). The SQL is generated before anything
# is written, so a failing binary stops the run with nothing changed.
if [[ -z $sql_file && -z $fleetmcp ]]; then
  if command -v fleetmcp >/dev/null; then
    fleetmcp=$(command -v fleetmcp)
  elif [[ -x $here/../build/release/fleetmcp ]]; then
    fleetmcp=$(cd "$here/../build/release" && pwd)/fleetmcp
  fi
fi
if [[ -n $fleetmcp ]]; then
  [[ -x $fleetmcp ]] || die "$fleetmcp is not an executable fleetmcp"
  role_args=()
  [[ -n $whole_tables ]] && role_args=(--whole-table-grants)
  role_sql=$("$fleetmcp" role-sql "${role_args[@]}") || die "$fleetmcp role-sql failed"
  source_name="$fleetmcp role-sql${whole_tables:+ --whole-table-grants}"
else
  [[ -n $whole_tables ]] && die "--whole-table-grants needs the fleetmcp binary (--fleetmcp BIN)"
  sql_file=${sql_file:-$here/analytics_ro_role.sql}
  [[ -r $sql_file ]] || die "role SQL not found at $sql_file (use --sql or --fleetmcp)"
  role_sql=$(cat "$sql_file")
  source_name=$sql_file
  [[ $role_sql == *"WARNING: whole-table grants"* ]] && whole_tables=1
fi
echo "analytics_ro: grants from $source_name"

# The password file: created 0600 (umask 077) through a temporary file in the
# same directory, so a half-written file is never used.
new_password() {
  local dir tmp
  dir=$(dirname "$pw_file")
  (umask 077 && mkdir -p "$dir")
  tmp=$(umask 077 && mktemp "$dir/.analytics_ro.pw.XXXXXX")
  openssl rand -hex 24 > "$tmp"
  mv -f "$tmp" "$pw_file"
}
if [[ -n $rotate || ! -s $pw_file ]]; then
  new_password
  echo "analytics_ro: wrote a new password to $pw_file (mode 0600)"
else
  echo "analytics_ro: reusing the password in $pw_file"
  if [[ $(stat -c %a "$pw_file") != 600 ]]; then
    chmod 600 "$pw_file"
    echo "analytics_ro: $pw_file was readable by others; now mode 0600" >&2
  fi
fi
pw=$(head -n 1 "$pw_file")
# Plain characters only, so the value needs no quoting on its way to psql.
[[ $pw =~ ^[A-Za-z0-9._~+/=-]{16,}$ ]] ||
  die "$pw_file must hold one line of at least 16 characters from A-Z a-z 0-9 . _ ~ + / = - (or use --rotate)"

# The server gets a SCRAM-SHA-256 verifier (RFC 5802/7677, PostgreSQL's
# format), computed here, never the password itself: neither its log nor
# pg_stat_activity nor an extension watching statements can see it. The
# password is ASCII, so SASLprep leaves it as it is.
scram_verifier() {
  python3 -c '
import base64, hashlib, hmac, os, sys
password = sys.stdin.readline().rstrip("\n").encode()
salt, iterations = os.urandom(16), 4096
salted = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
client_key = hmac.new(salted, b"Client Key", "sha256").digest()
server_key = hmac.new(salted, b"Server Key", "sha256").digest()
b64 = lambda b: base64.b64encode(b).decode()
print(f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(hashlib.sha256(client_key).digest())}:{b64(server_key)}")
' <<<"$1"
}
if command -v python3 >/dev/null; then
  ro_pw=$(scram_verifier "$pw") || die "could not compute the SCRAM-SHA-256 verifier"
  echo "analytics_ro: the password reaches the server only as a SCRAM-SHA-256 verifier"
else
  ro_pw=$pw
  echo "analytics_ro: python3 not found: the server receives the password itself to hash it" >&2
fi

conn=()
[[ -n $dsn ]] && conn=(--dbname "$dsn")

# psql reads the password (or verifier) and then the role SQL from stdin; in
# single quotes, psql substitutes no :variables in it. The statement that
# sets the password is kept out of the server log where this session may say so
# (superusers can; others keep the server's logging settings).
{
  printf '\\set ro_pw %s\n' "'$ro_pw'"
  cat <<'SQL'
DO $quiet$
BEGIN
  PERFORM set_config('log_statement', 'none', false);
  PERFORM set_config('log_min_duration_statement', '-1', false);
EXCEPTION WHEN insufficient_privilege THEN NULL;
END $quiet$;
SQL
  printf '%s\n' "$role_sql"
} | psql -X -q -v ON_ERROR_STOP=1 "${conn[@]}" -f - ||
  die "applying the grants from $source_name failed (is the connection a superuser on the fleet database?)"

# Where this connection went (psql's HOST and PORT: the host and port it
# reached, from --dsn or PG*), for the DATABASE_URL line below. A Unix socket
# directory is no host fleetmcp can use over TCP: then <db-host>.
conn_info=$(psql -X -A -t "${conn[@]}" -c "SELECT current_database()" -c '\echo :HOST :PORT')
db=$(sed -n 1p <<<"$conn_info")
read -r db_host db_port _ <<<"$(sed -n 2p <<<"$conn_info")"
[[ -z ${db_host:-} || $db_host == /* ]] && db_host="<db-host>"
[[ $db_host == *:* ]] && db_host="[$db_host]"  # an IPv6 address
[[ ${db_port:-} =~ ^[0-9]+$ ]] || db_port="<db-port>"
if [[ -n $whole_tables ]]; then
  echo "analytics_ro: WARNING: whole-table grants: this role can read every sensitive column (password_hash, api_key, ...)" >&2
else
  echo "analytics_ro: tables with sensitive columns have column-level grants; those columns are unreadable"
fi
cat <<MSG
analytics_ro: ready in database $db (password not shown).
Connection string for fleetmcp (the password is the content of $pw_file):
  DATABASE_URL=postgresql://analytics_ro:<password>@$db_host:$db_port/$db
MSG
# A URL needs / @ and % in a password percent-encoded; generated passwords are
# hex, but a reused file may hold a '/' (base64).
if [[ $pw == *[/@%]* ]]; then
  echo "analytics_ro: the password holds / @ or %: percent-encode them in the URL (/ is %2F, @ is %40, % is %25)"
fi
