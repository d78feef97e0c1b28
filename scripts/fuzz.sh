#!/usr/bin/env bash
# Fuzzes every parser that sees untrusted bytes with libFuzzer (clang,
# ASan+UBSan) for a bounded time each: the SQL guard, the JSON-RPC core, the
# HTTP front and the JWT verifier. Seeds: the guard corpus and
# tests/fuzz/seeds/<target>/.
# A finding is written to tests/fuzz/crashes/<target>-*, where it becomes a
# permanent test case (replayed by ctest in the g++ build).
#   FUZZ_SECONDS=60 scripts/fuzz.sh            # each target, 60 s
#   FUZZ_SECONDS=600 scripts/fuzz.sh jsonrpc   # one target
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

targets=("${@:-guard jsonrpc http jwt}")
read -r -a targets <<<"${targets[*]}"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]/%/_fuzz}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for target in "${targets[@]}"; do
  seeds=$work/$target
  mkdir -p "$seeds"
  if [[ $target == guard ]]; then
    node -e '
      const fs = require("fs");
      fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)
        .forEach((line, i) => fs.writeFileSync(`${process.argv[2]}/case-${i}.sql`, JSON.parse(line).sql));
    ' tests/sql/corpus.jsonl "$seeds"
  else
    cp tests/fuzz/seeds/"$target"/* "$seeds/"
  fi
  for f in tests/fuzz/crashes/"$target"-*; do [[ -s $f ]] && cp "$f" "$seeds/"; done

  # libFuzzer reports every new input; keep that in a log and show the
  # summary, or the whole log when it found something.
  log=build/fuzz/$target.log
  if build/fuzz/${target}_fuzz -max_total_time="${FUZZ_SECONDS:-60}" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="tests/fuzz/crashes/$target-" "$seeds" >"$log" 2>&1; then
    echo "fuzz $target: $(grep -E "^Done" "$log" | tail -1); no crash, leak or sanitizer report"
  else
    cat "$log"
    echo "fuzz $target: FAILED; the input is in tests/fuzz/crashes/ (commit it: it becomes a test)" >&2
    status=1
  fi
done
exit $status
