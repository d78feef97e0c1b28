#!/usr/bin/env bash
# The Debian package: cpack builds it from the build tree (the binary as built,
# nothing recompiled), it is unpacked into a scratch root (dpkg -x, the
# machine's own /usr untouched), and then:
#   - its Depends are exactly the packages owning the libraries the binary
#     links (dpkg-shlibdeps), each installed here in a version that satisfies
#     it, and every library ldd resolves comes from them or their dependencies;
#   - it holds the binary, the demo's launcher and dataset, the role scripts,
#     the docs and the deploy examples;
#   - `fleetmcp demo` run from the scratch root uses the files installed beside
#     it, serves (/healthz, /readyz, a query with the printed token), and Ctrl-C
#     (SIGINT) stops the server and its PostgreSQL cluster.
#
#   tests/deploy/package_test.sh build/release/fleetmcp build/release
set -uo pipefail
bin=${1:?usage: package_test.sh FLEETMCP_BIN BUILD_DIR}
build=${2:?usage: package_test.sh FLEETMCP_BIN BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR
source "$here/lib.sh"
for tool in cpack dpkg-deb dpkg-shlibdeps readelf curl jq; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool not found (scripts/install-deps.sh)"; exit 1; }
done
[[ -f $build/CPackConfig.cmake ]] || { echo "FAIL no CPackConfig.cmake in $build"; exit 1; }
started=$SECONDS

# Under /tmp and world-readable: the demo's cluster runs as 'postgres' when we are root.
work=$(mktemp -d /tmp/fleetmcp-package.XXXXXX)
chmod 755 "$work"
demo_pid=""
cleanup() {
  stop_pid "$demo_pid"
  [[ -x $work/root/usr/share/fleetmcp/scripts/pg_cluster.sh ]] &&
    "$work/root/usr/share/fleetmcp/scripts/pg_cluster.sh" stop "$work/demo" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# --- The package -------------------------------------------------------------
t=$SECONDS
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { echo "FAIL cpack:"; cat "$work/cpack.log"; exit 1; }
debs=("$work"/out/*.deb)
deb=${debs[0]}
[[ -f $deb ]] || { echo "FAIL cpack made no .deb:"; cat "$work/cpack.log"; exit 1; }
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes, built in $((SECONDS - t)) s"
dpkg-deb -x "$deb" "$work/root" || { echo "FAIL dpkg-deb -x"; exit 1; }
installed=$work/root/usr/bin/fleetmcp
[[ -x $installed ]] || { echo "FAIL no usr/bin/fleetmcp in the package"; exit 1; }

# The same binary as built, stripped: same build id, same version.
build_id() { readelf -n "$1" | sed -n 's/.*Build ID: *//p'; }
expect_eq "the packaged binary is the built one" "$(build_id "$installed")" "$(build_id "$bin")"
expect_eq "version" "$("$installed" version)" "$("$bin" version)"

# --- Depends -----------------------------------------------------------------
# The package owning a library path (Debian 12 ships some under /lib, some
# under /usr/lib, and the symlinks between them are not in dpkg's database).
owner() {
  local path p
  path=$(readlink -f "$1")
  for p in "$1" "$path" "${path#/usr}" "/usr$path"; do
    dpkg-query -S "$p" 2>/dev/null | head -1 | cut -d: -f1 && return 0
  done
  return 1
}
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
declare -A depended=()
while read -r name; do [[ -n $name ]] && depended[$name]=1; done < <(tr ',' '\n' <<<"$depends" | sed 's/(.*)//; s/ //g')
for name in libpq5 libsimdjson14 libssl3 libdeflate0 libstdc++6 libgcc-s1 libc6; do
  expect_that "Depends names $name" test -n "${depended[$name]:-}"
done
# Each one installed here, in a version that satisfies the constraint.
while read -r clause; do
  name=${clause%% *}
  have=$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null) || { fail "Depends: $name is not installed"; continue; }
  if [[ $clause =~ \((.+)\ (.+)\) ]]; then
    expect_that "Depends: the installed $name $have satisfies ($name ${BASH_REMATCH[1]} ${BASH_REMATCH[2]})" \
      dpkg --compare-versions "$have" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
  else ok; fi
done < <(tr ',' '\n' <<<"$depends" | sed 's/^ *//')
# Exactly the owners of the libraries the binary names (DT_NEEDED): no more, no fewer.
needed_owners=""
while read -r lib; do
  # ldd: "libpq.so.5 => /lib/.../libpq.so.5 (...)", or the loader as "/lib64/ld-linux-x86-64.so.2 (...)"
  path=$(ldd "$installed" | awk -v lib="$lib" '$1 == lib { print $3 } $1 ~ /^\// && $1 ~ ("/" lib "$") { print $1 }')
  if [[ -z $path || $path == "not" ]]; then fail "$lib does not resolve"; continue; fi
  pkg=$(owner "$path") || { fail "no package owns $path"; continue; }
  needed_owners+="$pkg"$'\n'
  expect_that "$lib is linked, so Depends names $pkg" test -n "${depended[$pkg]:-}"
done < <(readelf -d "$installed" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for name in "${!depended[@]}"; do
  expect_that "Depends names $name, so it owns a linked library" grep -qx "$name" <<<"$needed_owners"
done
# Every library ldd loads (libpq's Kerberos, LDAP, ...) comes from Depends or
# what they depend on, recursively.
declare -A closure=()
queue=("${!depended[@]}")
while ((${#queue[@]})); do
  name=${queue[0]}
  queue=("${queue[@]:1}")
  [[ -n ${closure[$name]:-} ]] && continue
  closure[$name]=1
  more=$(dpkg-query -W -f='${Depends}, ${Pre-Depends}' "$name" 2>/dev/null | tr '|,' '\n' | sed 's/(.*)//; s/:any//; s/ //g')
  for dep in $more; do
    [[ -z ${closure[$dep]:-} ]] && dpkg-query -W "$dep" >/dev/null 2>&1 && queue+=("$dep")
  done
done
ldd_out=$(ldd "$installed")
expect_lacks "ldd resolves every library" "$ldd_out" "not found"
while read -r path; do
  pkg=$(owner "$path") || { fail "no package owns $path"; continue; }
  expect_that "$path comes from Depends or their dependencies ($pkg)" test -n "${closure[$pkg]:-}"
done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$ldd_out")
recommends=$(dpkg-deb -f "$deb" Recommends)
expect_has "Recommends the demo's PostgreSQL" "$recommends" "postgresql-15"

# --- Contents ----------------------------------------------------------------
for pair in scripts/pg_cluster.sh:usr/share/fleetmcp/scripts/pg_cluster.sh \
  scripts/bootstrap_analytics_ro.sh:usr/share/fleetmcp/scripts/bootstrap_analytics_ro.sh \
  scripts/analytics_ro_role.sql:usr/share/fleetmcp/scripts/analytics_ro_role.sql \
  data/fleet_demo.sql:usr/share/fleetmcp/data/fleet_demo.sql \
  data/fleet_demo_shift.sql:usr/share/fleetmcp/data/fleet_demo_shift.sql \
  README.md:usr/share/doc/fleetmcp/README.md docs/OPERATIONS.md:usr/share/doc/fleetmcp/docs/OPERATIONS.md \
  deploy/fleetmcp.service:usr/share/doc/fleetmcp/deploy/fleetmcp.service \
  deploy/fleetmcp.env.example:usr/share/doc/fleetmcp/deploy/fleetmcp.env.example \
  deploy/nginx/fleetmcp.conf:usr/share/doc/fleetmcp/deploy/nginx/fleetmcp.conf; do
  expect_that "${pair#*:} is ${pair%%:*}" cmp -s "$root/${pair%%:*}" "$work/root/${pair#*:}"
done
for script in pg_cluster.sh bootstrap_analytics_ro.sh; do
  expect_that "$script is executable" test -x "$work/root/usr/share/fleetmcp/scripts/$script"
done

# --- fleetmcp demo from the scratch root --------------------------------------
t=$SECONDS
pick_port port || exit 1
unset MCP_HOST MCP_AUTH_TOKENS DATABASE_URL
MCP_PORT=$port "$installed" demo --dir "$work/demo" --scale 0.02 >"$work/demo.log" 2>&1 &
demo_pid=$!
for ((i = 0; i < 1200; i++)); do
  grep -q '^  token:' "$work/demo.log" && break
  kill -0 "$demo_pid" 2>/dev/null || break
  sleep 0.1
done
token=$(sed -n 's/^  token: *//p' "$work/demo.log")
[[ -n $token ]] || { echo "FAIL the demo did not start serving:"; cat "$work/demo.log"; exit 1; }
echo "demo: serving after $((SECONDS - t)) s"
log=$(cat "$work/demo.log")
expect_has "the demo's dataset is the installed one" "$log" \
  "First run: generating the fleet dataset ($work/root/usr/share/fleetmcp/data/fleet_demo.sql)"
expect_has "the demo serves" "$log" "fleetmcp is serving the demo fleet on http://127.0.0.1:$port/mcp"
expect_eq "healthz" "$(curl -s "127.0.0.1:$port/healthz")" '{"ok":true}'
expect_eq "readyz" "$(curl -s -H 'X-Forwarded-For: 203.0.113.9' "127.0.0.1:$port/readyz")" '{"ready":true}'
reply=$(curl -s "127.0.0.1:$port/mcp" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT cost_centre, count(*) AS vehicles FROM tracksolid.devices GROUP BY 1 ORDER BY 1"}}}')
rows=$(jq -r '.result.structuredContent.row_count // "none"' <<<"$reply")
expect_that "a query with the printed token returns rows: $(head -c 600 <<<"$reply")" \
  grep -Eqx '[1-9][0-9]*' <<<"$rows"
expect_eq "no error" "$(jq -r '.result.isError // false' <<<"$reply")" false

# Ctrl-C: the server and the cluster stop; the data stays for the next run.
pgport=$(sed -n "s/^export FLEETMCP_TEST_PORT='\(.*\)'/\1/p" "$work/demo/env")
kill -INT "$demo_pid"
for ((i = 0; i < 300; i++)); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$demo_pid" 2>/dev/null; then
  fail "the demo still runs 30 s after SIGINT"
else
  wait "$demo_pid"
  expect_eq "the demo's exit status after SIGINT" "$?" 0
  demo_pid=""
fi
expect_has "the demo says it stops" "$(cat "$work/demo.log")" "fleetmcp: stopping the server and the demo database"
expect_that "the cluster stopped (no postmaster.pid)" test ! -e "$work/demo/data/postmaster.pid"
expect_that "nothing listens on PostgreSQL's port $pgport" port_free "$pgport"
expect_that "nothing listens on fleetmcp's port $port" port_free "$port"
expect_that "the demo's data is kept for the next run" test -f "$work/demo/data/PG_VERSION"

echo "package test: $((SECONDS - started)) s"
finish
