#!/usr/bin/env bash
# The container image, built and run: a Debian 12 base from Debian's repository
# (scripts/debian_base_image.sh; reused when it exists), the Dockerfile built on
# it with podman, then the image run against a PostgreSQL cluster of its own
# (tests/fixtures/fleet_small.sql) on the host's network: /healthz, /readyz, the
# image's health check, a query with a token, the unprivileged user, and a
# clean stop on SIGTERM. Given a build directory, also the Debian package on
# that bare base, as on a fresh machine: apt installs it with what it depends
# on and recommends, and `fleetmcp demo` runs as root from /usr/bin until a
# query answers and SIGINT stops it and its cluster.
#
#   FLEETMCP_IMAGE_TEST=1 tests/deploy/image_test.sh [BUILD_DIR]
#
# Skipped (77) unless FLEETMCP_IMAGE_TEST=1: the build compiles fleetmcp from
# scratch inside the image (minutes). Needs root, podman and mmdebstrap
# (FLEETMCP_IMAGE_TEST=1 scripts/install-deps.sh), and Debian's and npm's
# repositories. FLEETMCP_IMAGE_BASE names the base (default
# localhost/debian:12), FLEETMCP_IMAGE_REBUILD_BASE=1 builds it afresh, and
# FLEETMCP_IMAGE_BUILD_FLAGS adds podman build flags (behind a TLS-inspecting
# proxy: -v /usr/local/share/ca-certificates:/usr/local/share/ca-certificates:ro).
set -uo pipefail
build=${1:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR
source "$here/lib.sh"
[[ ${FLEETMCP_IMAGE_TEST:-} == 1 ]] || { echo "SKIP set FLEETMCP_IMAGE_TEST=1 to build and run the image"; exit 77; }
for tool in podman curl jq; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool not found (FLEETMCP_IMAGE_TEST=1 scripts/install-deps.sh)"; exit 1; }
done
base=${FLEETMCP_IMAGE_BASE:-localhost/debian:12}
image=localhost/fleetmcp:image-test
name=fleetmcp-image-test-$$
started=$SECONDS

work=$(mktemp -d /tmp/fleetmcp-image.XXXXXX)
chmod 755 "$work"
cleanup() {
  podman rm -f -t 0 "$name" >/dev/null 2>&1
  "$root/tests/harness/pg_cluster.sh" stop "$work/pg" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# --- The base ----------------------------------------------------------------
t=$SECONDS
if [[ ${FLEETMCP_IMAGE_REBUILD_BASE:-} == 1 ]] || ! podman image exists "$base"; then
  ENGINE=podman "$root/scripts/debian_base_image.sh" "$base" >"$work/base.log" 2>&1 ||
    { echo "FAIL the base image:"; cat "$work/base.log"; exit 1; }
  echo "base: $base built in $((SECONDS - t)) s"
else
  echo "base: $base (exists; FLEETMCP_IMAGE_REBUILD_BASE=1 builds it afresh)"
fi

# Where the engine cannot do what it does by default, the flags that let it:
# without CAP_SYS_RESOURCE the default limits (nofile 1048576) cannot be set,
# so the ones this shell has are passed (nproc no higher than kernel.pid_max,
# above which it was refused too); on a cgroup v1 or hybrid host crun refuses
# to start a container, and runc does not.
limits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)")
nproc=$(ulimit -Hu)
pid_max=$(cat /proc/sys/kernel/pid_max)
[[ $nproc == unlimited || $nproc -gt $pid_max ]] && nproc=$pid_max
limits+=(--ulimit "nproc=$nproc:$nproc")
engine=()
for candidate in "" "limits" "limits runc"; do
  flags=()
  [[ $candidate == *limits* ]] && flags+=("${limits[@]}")
  [[ $candidate == *runc* ]] && flags+=(--runtime runc)
  if podman run --rm --network=host "${flags[@]}" "$base" true >"$work/probe.log" 2>&1; then
    engine=("${flags[@]}")
    break
  fi
  echo "podman run ${flags[*]}: $(tail -1 "$work/probe.log")"
done
[[ $candidate == "limits runc" && ${#engine[@]} == 0 ]] &&
  { echo "FAIL podman cannot run a container here"; exit 1; }
echo "podman flags: ${engine[*]:-(none)}"

# --- The image ---------------------------------------------------------------
t=$SECONDS
# The docker format: OCI images have no HEALTHCHECK, and podman drops it.
# shellcheck disable=SC2086  # the extra flags are words on purpose
podman build --format docker "${engine[@]}" ${FLEETMCP_IMAGE_BUILD_FLAGS:-} --network=host \
  --build-arg BUILD_BASE="$base" --build-arg RUNTIME_BASE="$base" -t "$image" "$root" >"$work/build.log" 2>&1 ||
  { echo "FAIL podman build:"; tail -40 "$work/build.log"; exit 1; }
echo "image: $image built in $((SECONDS - t)) s, $(podman image inspect -f '{{.Size}}' "$image") bytes"
expect_eq "the image runs as the unprivileged user" "$(podman image inspect -f '{{.Config.User}}' "$image")" 10001:10001

# --- Run it --------------------------------------------------------------------
"$root/tests/harness/pg_cluster.sh" start "$work/pg" "$root/tests/fixtures/fleet_small.sql" >"$work/cluster.log" 2>&1 ||
  { echo "FAIL could not start a PostgreSQL cluster:"; cat "$work/cluster.log"; exit 1; }
# shellcheck disable=SC1091
source "$work/pg/env"
pick_port port || exit 1
token=$(openssl rand -hex 24)
# The host's network: the cluster listens on the host's loopback. fleetmcp
# binds loopback too (not the image's 0.0.0.0) so nothing else reaches it.
podman run -d --name "$name" --network=host "${engine[@]}" \
  -e DATABASE_URL="$FLEETMCP_TEST_DATABASE_URL" -e MCP_AUTH_TOKENS="image:$token" \
  -e MCP_HOST=127.0.0.1 -e MCP_PORT="$port" "$image" >"$work/run.log" 2>&1 ||
  { echo "FAIL podman run:"; cat "$work/run.log"; exit 1; }
for ((i = 0; i < 100; i++)); do
  [[ $(curl -s "127.0.0.1:$port/healthz") == '{"ok":true}' ]] && break
  sleep 0.1
done
expect_eq "healthz" "$(curl -s "127.0.0.1:$port/healthz")" '{"ok":true}'
expect_eq "readyz" "$(curl -s -H 'X-Forwarded-For: 203.0.113.9' "127.0.0.1:$port/readyz")" '{"ready":true}'
expect_that "the image's health check passes" podman healthcheck run "$name"
expect_eq "it runs as uid 10001" "$(podman exec "$name" id -u)" 10001
reply=$(curl -s "127.0.0.1:$port/mcp" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT count(*) AS devices FROM tracksolid.devices"}}}')
expect_that "a query returns rows: $(head -c 600 <<<"$reply")" \
  grep -Eqx '[1-9][0-9]*' <<<"$(jq -r '.result.structuredContent.rows[0].devices // "none"' <<<"$reply")"
expect_eq "a call without the token" \
  "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$port/mcp" -H 'Content-Type: application/json' -d '{}')" 401
expect_has "the audit line reaches the container's log" "$(podman logs "$name" 2>/dev/null)" '"audit":"tool_call","caller":"image"'

# podman stop sends SIGTERM: fleetmcp ends at once with status 0.
t=$SECONDS
podman stop -t 10 "$name" >"$work/stop.log" 2>&1
expect_eq "exit status after SIGTERM" "$(podman inspect -f '{{.State.ExitCode}}' "$name")" 0
expect_that "stopped within 5 s, not killed after 10" test $((SECONDS - t)) -lt 5

# --- The package on a fresh Debian 12 -------------------------------------------
if [[ -n $build ]]; then
  t=$SECONDS
  cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/deb" >"$work/cpack.log" 2>&1 ||
    { echo "FAIL cpack:"; cat "$work/cpack.log"; exit 1; }
  debs=("$work"/deb/*.deb)
  # shellcheck disable=SC2016  # expanded in the container
  podman run --rm --network=host "${engine[@]}" -v "${debs[0]}:/tmp/fleetmcp.deb:ro" -e MCP_PORT="$port" "$base" bash -c '
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -q && apt-get install -y -q /tmp/fleetmcp.deb curl; } >/tmp/apt.log 2>&1 ||
      { echo "apt failed:"; tail -20 /tmp/apt.log; exit 1; }
    echo "installed: $(dpkg-query -W -f="\${Package} " fleetmcp postgresql-15 openssl)"
    fleetmcp demo --scale 0.02 >/tmp/demo.log 2>&1 &
    for ((i = 0; i < 600; i++)); do grep -q "^  token:" /tmp/demo.log && break; sleep 0.1; done
    token=$(sed -n "s/^  token: *//p" /tmp/demo.log)
    curl -s "127.0.0.1:$MCP_PORT/mcp" -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
      -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"query\",\"arguments\":{\"sql\":\"SELECT count(*) AS devices FROM tracksolid.devices\"}}}"
    echo
    kill -INT $!
    wait $!
    echo "demo exit status: $?"
    test -e /var/tmp/fleetmcp-demo/data/postmaster.pid && echo "cluster: running" || echo "cluster: stopped"
    cat /tmp/demo.log' >"$work/fresh.log" 2>&1
  fresh=$(cat "$work/fresh.log")
  expect_has "apt installs the package, PostgreSQL and openssl" "$fresh" "installed: fleetmcp openssl postgresql-15"
  expect_has "the demo runs from the installed files" "$fresh" \
    "First run: generating the fleet dataset (/usr/share/fleetmcp/data/fleet_demo.sql)"
  expect_has "the demo, as root, keeps its cluster in /var/tmp" "$fresh" "Starting the demo database in /var/tmp/fleetmcp-demo"
  expect_has "a query on the demo" "$fresh" '"structuredContent":{"rows":[{"devices":'
  expect_has "SIGINT ends the demo cleanly" "$fresh" "demo exit status: 0"
  expect_has "and stops its cluster" "$fresh" "cluster: stopped"
  echo "package on a fresh Debian 12: $((SECONDS - t)) s"
fi

echo "image test: $((SECONDS - started)) s"
finish
