#!/usr/bin/env bash
# Lays out the project's C++ files (src/, tests/, bench/) as .clang-format says,
# with Debian 12's clang-format 14. With --check, changes nothing: lists the
# files that differ and fails (the ctest `format`).
#   scripts/format.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
formatter=$(command -v clang-format-14 || command -v clang-format || true)
[[ -n $formatter ]] || { echo "format: clang-format-14 is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
mapfile -t files < <(find src tests bench -name '*.cpp' -o -name '*.hpp' | grep -v '/node_modules/' | sort)
if [[ ${1:-} == --check ]]; then
  differ=()
  for f in "${files[@]}"; do
    "$formatter" --style=file "$f" | cmp -s - "$f" || differ+=("$f")
  done
  if ((${#differ[@]})); then
    echo "format: ${#differ[@]} files differ from .clang-format; run scripts/format.sh:" >&2
    printf '  %s\n' "${differ[@]}" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files as .clang-format lays them out"
  exit 0
fi
"$formatter" --style=file -i "${files[@]}"
