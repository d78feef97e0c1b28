#!/usr/bin/env bash
# The dependency graph of src/ as CMake sees it (cmake --graphviz): one line
# per module, the modules it links. docs/DESIGN.md carries the output between
# its "module graph" markers; with --check, says whether it is current.
#   scripts/module_graph.sh [--check]
set -euo pipefail
export LC_ALL=C  # one sort order on every machine
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cmake -S . -B "$dir/build" -G Ninja --graphviz="$dir/deps.dot" >/dev/null
graph=$(sed -n 's|.*// fleetmcp_\([a-z_]*\) -> fleetmcp_\([a-z_]*\)$|\1 \2|p' "$dir/deps.dot" | sort -u |
  awk '{deps[$1] = deps[$1] (deps[$1] ? ", " : "") $2} END {for (m in deps) print "- `" m "` → " deps[m]}' | sort)
if [[ ${1:-} == --check ]]; then
  current=$(sed -n '/<!-- module graph: begin -->/,/<!-- module graph: end -->/p' docs/DESIGN.md | sed '1d;$d')
  if [[ $current == "$graph" ]]; then echo "docs/DESIGN.md: module graph current"; exit 0; fi
  echo "docs/DESIGN.md: the module graph differs from CMakeLists.txt; run scripts/module_graph.sh and paste:" >&2
  diff <(echo "$current") <(echo "$graph") >&2 || true
  exit 1
fi
echo "$graph"
