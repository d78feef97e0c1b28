#!/usr/bin/env bash
# Installs everything fleetmcp needs to build, test and run its demo on Debian 12.
# Idempotent: packages (and the pinned npm build dependency) already present are skipped, so both README commands can
# call it every time. Needs root (or passwordless sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.74-dev libpq-dev nlohmann-json3-dev libsimdjson-dev libssl-dev libdeflate-dev
  libtomlplusplus-dev  # MCP_POLICY_FILE (used header-only: no runtime library)
  libgtest-dev libbenchmark-dev
  postgresql-15 postgresql-contrib
  nodejs npm
  python3-websockets  # docs/WEBSOCKET.md's Python example, which the e2e tests run
  wrk pgbouncer
  nginx caddy  # the shipped reverse-proxy configurations' test (tests/deploy/proxy_test.sh)
  python3-yaml  # deploy/compose.yaml's check (tests/deploy/files_test.sh)
  dpkg-dev curl jq  # the package's test (cpack's dpkg-shlibdeps; tests/deploy/package_test.sh)
  prometheus  # promtool and a server for deploy/prometheus/ (tests/deploy/prometheus_test.sh)
  chromium  # /status in a headless browser (tests/e2e/status_page.test.mjs)
  clang-14 libclang-rt-14-dev
  clang-format-14  # the layout check (scripts/format.sh, the ctest format)
)
# The container image's test, only when asked (tests/deploy/image_test.sh).
if [[ ${FLEETMCP_IMAGE_TEST:-} == 1 ]]; then
  packages+=(podman runc mmdebstrap)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine may already have its own node/npm (not from Debian); keep it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts a default cluster, pgbouncer, nginx, caddy and prometheus on
  # install (ports 5432, 6432, 80, 9090); the tests run their own instances. Stop
  # and disable the services of the packages just installed (one already there
  # is left alone).
  for service in postgresql pgbouncer nginx caddy prometheus; do
    package=$service
    [[ $service == postgresql ]] && package=postgresql-15
    [[ " ${missing[*]} " == *" $package "* ]] || continue
    if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
      $sudo systemctl disable --now "$service" >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/$service ]]; then  # no systemd (a container): the init script may have started it
      $sudo /etc/init.d/"$service" stop >/dev/null 2>&1 || true
    fi
  done
fi

# PostgreSQL 16's parser for the SQL guard (Debian 12 ships only libpg_query 15):
# the static library inside the npm package libpg-query, pinned with its
# integrity hash. Scripts disabled: its install script would fetch a Node binding.
lib="$(cd "$(dirname "$0")/.." && pwd)/third_party/libpg_query"
if [[ $lib/package-lock.json -nt $lib/node_modules/.package-lock.json ]]; then
  (cd "$lib" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
fi
