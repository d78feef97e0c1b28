#!/usr/bin/env bash
# Fuzzes the SQL guard with libFuzzer (clang, ASan+UBSan) for a bounded time,
# seeded with the guard corpus. A crash is written to tests/fuzz/crashes/,
# where it becomes a permanent test case (replayed by ctest in the g++ build).
#   FUZZ_SECONDS=60 scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
node -e '
  const fs = require("fs");
  fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)
    .forEach((line, i) => fs.writeFileSync(`${process.argv[2]}/case-${i}.sql`, JSON.parse(line).sql));
' tests/sql/corpus.jsonl "$seeds"
for f in tests/fuzz/crashes/*; do [[ -s $f ]] && cp "$f" "$seeds/"; done

# libFuzzer reports every new input; keep that in a log and show the summary,
# or the whole log when it found something.
log=build/fuzz/fuzz.log
if build/fuzz/guard_fuzz -max_total_time="${FUZZ_SECONDS:-60}" -timeout=10 -rss_limit_mb=2048 \
  -max_len=4096 -print_final_stats=1 -artifact_prefix=tests/fuzz/crashes/ "$seeds" >"$log" 2>&1; then
  grep -E "^Done|stat::number_of_executed_units|stat::new_units_added" "$log"
  echo "fuzz: no crash, leak or sanitizer report"
else
  cat "$log"
  echo "fuzz: FAILED; the input is in tests/fuzz/crashes/ (commit it: it becomes a test)" >&2
  exit 1
fi
