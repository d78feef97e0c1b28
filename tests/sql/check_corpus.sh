#!/usr/bin/env bash
# Runs the SQL guard corpus against a fleetmcp binary:
#   tests/sql/check_corpus.sh path/to/fleetmcp [corpus.jsonl]
# Every line of corpus.jsonl is {"sql", "verdict": "allow"|"reject", "rule" (reject only),
# "runs" (allow only), "sqlstate" (allow only: the database refuses it with this code, checked
# by tests/pg/guard_differential_test.cpp), "note"}. The whole corpus goes through one
# `fleetmcp check-sql --jsonl` with the default policy (MCP_READABLE_SCHEMAS /
# MCP_ENFORCE_SCHEMAS / MCP_REDACT_COLUMNS unset) and, when DATABASE_URL is set, the live
# catalog as the server would judge it;
# verdict and rule must match. Prints each mismatch and a final "N passed, M failed" line;
# exits 1 on any failure, 2 on bad usage.
set -euo pipefail

bin=${1:?usage: check_corpus.sh path/to/fleetmcp [corpus.jsonl]}
here=$(cd "$(dirname "$0")" && pwd)
corpus=${2:-$here/corpus.jsonl}
[[ -x $bin ]] || { echo "check_corpus: $bin is not an executable" >&2; exit 2; }
[[ -f $corpus ]] || { echo "check_corpus: $corpus not found" >&2; exit 2; }
command -v node >/dev/null || { echo "check_corpus: node is required" >&2; exit 2; }

exec node - "$bin" "$corpus" <<'JS'
const fs = require('fs');
const { spawnSync } = require('child_process');
const [bin, corpus] = process.argv.slice(2);

// The default policy: drop any setting that would change the guard's verdicts.
const env = { ...process.env };
for (const k of ['MCP_READABLE_SCHEMAS', 'MCP_ENFORCE_SCHEMAS', 'MCP_REDACT_COLUMNS']) delete env[k];

const rules = new Set(['parse_error', 'empty', 'multiple_statements', 'statement_kind', 'select_into',
  'locking_clause', 'denied_function', 'volatile_function', 'unknown_function', 'secret_catalog',
  'schema_not_readable', 'sensitive_column', 'whole_row', 'sensitive_rename', 'secret_setting',
  'not_supported']);

let passed = 0, failed = 0;
const fail = (where, sql, why) => {
  failed++;
  console.log(`FAIL ${where}: ${why}\n  sql: ${JSON.stringify(sql)}`);
};

const cases = [];
fs.readFileSync(corpus, 'utf8').split('\n').forEach((text, i) => {
  if (text.trim() === '') return;
  const where = `${corpus}:${i + 1}`;
  let c;
  try { c = JSON.parse(text); } catch (e) { return fail(where, text, `invalid JSON: ${e.message}`); }
  if (typeof c.sql !== 'string') return fail(where, c.sql, 'missing "sql" string');
  if (c.verdict !== 'allow' && c.verdict !== 'reject') return fail(where, c.sql, `bad verdict ${JSON.stringify(c.verdict)}`);
  if (c.verdict === 'reject' && !rules.has(c.rule)) return fail(where, c.sql, `reject needs a known rule, got ${JSON.stringify(c.rule)}`);
  if (c.verdict === 'allow' && ('rule' in c)) return fail(where, c.sql, 'allow must not carry a rule');
  if (c.verdict === 'allow' && typeof c.runs !== 'boolean') return fail(where, c.sql, 'allow needs "runs": true|false');
  cases.push({ where, c });
});

const input = cases.map(({ c }) => JSON.stringify({ sql: c.sql })).join('\n') + '\n';
const r = spawnSync(bin, ['check-sql', '--jsonl'], { input, env, timeout: 120000, maxBuffer: 64 << 20 });
if (r.error || r.status !== 0) {
  console.log(`check_corpus: ${bin} check-sql --jsonl failed (exit ${r.status}): ${r.error ? r.error.message : r.stderr}`);
  process.exit(1);
}
const verdicts = r.stdout.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
if (verdicts.length !== cases.length) {
  console.log(`check_corpus: ${cases.length} cases but ${verdicts.length} verdicts`);
  process.exit(1);
}
cases.forEach(({ where, c }, i) => {
  const v = verdicts[i];
  if (v.verdict !== c.verdict || (c.verdict === 'reject' && v.rule !== c.rule)) {
    const got = v.verdict === 'reject' ? `reject/${v.rule}` : v.verdict;
    const want = c.verdict === 'reject' ? `reject/${c.rule}` : 'allow';
    return fail(where, c.sql, `expected ${want}, got ${got}${v.message ? ` (${v.message})` : ''}`);
  }
  passed++;
});
console.log(`${passed} passed, ${failed} failed (catalog: ${env.DATABASE_URL ? 'live' : 'offline'})`);
process.exit(failed > 0 ? 1 : 0);
JS
