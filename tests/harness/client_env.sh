# Sourced by the Node-driven test runners (tests/e2e, tests/conformance):
# checks FLEETMCP_BIN and FLEETMCP_TEST_DATABASE_URL, makes the binary's path
# absolute (the tests spawn it from other directories), and installs the
# runner's npm packages from its lockfile when they are missing or stale.
#
#   source tests/harness/client_env.sh; prepare_client_tests DIR
prepare_client_tests() {
  local dir=$1 var missing=0
  for var in FLEETMCP_BIN FLEETMCP_TEST_DATABASE_URL; do
    if [[ -z ${!var:-} ]]; then
      echo "run.sh: $var is not set" >&2
      missing=1
    fi
  done
  if [[ $missing == 1 ]]; then
    echo "run.sh: set FLEETMCP_BIN to the fleetmcp binary and FLEETMCP_TEST_DATABASE_URL to the read-only" >&2
    echo "        role's URL (tests/harness/pg_cluster.sh start DIR FIXTURE writes it to DIR/env)" >&2
    exit 2
  fi
  if [[ ! -x $FLEETMCP_BIN ]]; then
    echo "run.sh: FLEETMCP_BIN=$FLEETMCP_BIN is not an executable file" >&2
    exit 2
  fi
  FLEETMCP_BIN=$(cd "$(dirname "$FLEETMCP_BIN")" && pwd)/$(basename "$FLEETMCP_BIN")
  export FLEETMCP_BIN
  # npm keeps node_modules/.package-lock.json in step with what it installed; a
  # newer package-lock.json (or none installed yet) means install again.
  if [[ $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
}
