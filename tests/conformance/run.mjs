// Starts fleetmcp, runs the conformance suite's server scenarios era by era
// and compares what fails with expected-failures.txt. Started by run.sh,
// which checks the environment and passes fleetmcp's serve flags as arguments.
//
// A scenario fails when one of its checks is FAILURE or WARNING: the suite's
// own baseline rule, so this file and its --expected-failures agree.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../harness/serve.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.FLEETMCP_BIN;
const DATABASE_URL = process.env.FLEETMCP_TEST_DATABASE_URL;
const BASELINE = process.env.CONFORMANCE_BASELINE ?? path.join(here, 'expected-failures.txt');
const serveArgs = process.argv.slice(2);

// Each era: which installed suite, how to list its scenarios, how to run them.
// The 0.1.x line speaks the legacy revisions only; the 0.2 line runs each
// scenario at the wire of the revision asked for.
const ERAS = {
  legacy: {
    pkg: 'conformance-legacy',
    wire: '2025-11-25 (initialize)',
    list: ['--server'],
    run: ['--suite', 'all'],
  },
  'legacy-0.2': {
    pkg: 'conformance-modern',
    wire: '2025-11-25 (initialize), with wire-schema checks',
    list: ['--server', '--spec-version', '2025-11-25'],
    run: ['--suite', 'all', '--spec-version', '2025-11-25'],
  },
  modern: {
    pkg: 'conformance-modern',
    wire: '2026-07-28 (per-request _meta)',
    list: ['--server', '--spec-version', '2026-07-28'],
    run: ['--suite', 'all', '--spec-version', '2026-07-28'],
  },
  // Optional extensions (tasks, skills): not in any suite, so one run each.
  extensions: {
    pkg: 'conformance-modern',
    wire: '2026-07-28 (per-request _meta)',
    list: ['--server'],
    only: (tags) => tags.includes('extension'),
    perScenario: true,
  },
};

const eraNames = (process.env.CONFORMANCE_ERAS ?? Object.keys(ERAS).join(' ')).split(/[\s,]+/).filter(Boolean);
for (const e of eraNames) if (!ERAS[e]) die(`unknown era '${e}' in CONFORMANCE_ERAS (known: ${Object.keys(ERAS).join(', ')})`);

function die(msg) {
  console.error(`conformance: ${msg}`);
  process.exit(2);
}

// `era scenario[:check-id]  # reason`, one per line; a per-check entry excuses
// only that check, so the scenario's other checks still count.
function readBaseline() {
  const entries = [];
  fs.readFileSync(BASELINE, 'utf8').split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(\S+)\s+([^\s:#]+)(?::(\S+))?\s*#\s*(\S.*)$/.exec(line);
    if (!m) die(`${BASELINE}:${i + 1}: expected "era scenario[:check-id]  # reason", got: ${line}`);
    const [, era, scenario, check, reason] = m;
    if (!ERAS[era]) die(`${BASELINE}:${i + 1}: unknown era '${era}'`);
    entries.push({ era, scenario, check: check ?? null, reason, line: i + 1 });
  });
  return entries;
}

function suiteCli(pkg) {
  return path.join(here, 'node_modules', pkg, 'dist', 'index.js');
}

function suiteVersion(pkg) {
  return JSON.parse(fs.readFileSync(path.join(here, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

// `  - name [tag,tag]` lines of `conformance list`.
function listScenarios(era) {
  const { pkg, list, only } = ERAS[era];
  const r = spawnSync(process.execPath, [suiteCli(pkg), 'list', ...list], { encoding: 'utf8' });
  if (r.status !== 0) die(`${pkg} list failed:\n${r.stderr}`);
  const names = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s+- (\S+)(?: \[([^\]]*)\])?$/.exec(line);
    if (m && (!only || only((m[2] ?? '').split(',')))) names.push(m[1]);
  }
  if (names.length === 0) die(`${pkg} listed no server scenarios for era ${era}`);
  return names;
}

// Without tokens: the suite cannot send one (hence --insecure-no-auth).
function startServer() {
  const env = { ...process.env, DATABASE_URL };
  delete env.MCP_AUTH_TOKENS;
  return serve(BIN, { args: serveArgs, env });
}

// Runs the suite; its own exit status is ignored (the baseline decides), its
// output goes to a log next to the results.
async function runSuite(era, url, scenarios, outDir) {
  const { pkg, run, perScenario } = ERAS[era];
  const log = fs.openSync(path.join(outDir, `${era}.log`), 'w');
  const invocations = perScenario
    ? scenarios.map((s) => ['--scenario', s])
    : [run];
  for (const args of invocations) {
    const child = spawn(process.execPath, [suiteCli(pkg), 'server', '--url', url, ...args, '-o', path.join(outDir, era)],
                        { stdio: ['ignore', log, log] });
    const [, signal] = await once(child, 'exit');
    if (signal) die(`${pkg} server ${args.join(' ')} was killed by ${signal} (log: ${path.join(outDir, `${era}.log`)})`);
  }
  fs.closeSync(log);
}

// results/<era>/server-<scenario>-<ISO timestamp>/checks.json
function readResults(dir) {
  const results = new Map();
  if (!fs.existsSync(dir)) return results;
  for (const d of fs.readdirSync(dir)) {
    const m = /^server-(.+)-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/.exec(d);
    const file = path.join(dir, d, 'checks.json');
    if (m && fs.existsSync(file)) results.set(m[1], JSON.parse(fs.readFileSync(file, 'utf8')));
  }
  return results;
}

const isFailing = (c) => c.status === 'FAILURE' || c.status === 'WARNING';

// One verdict per scenario: pass, expected (baseline agrees), regression, stale.
function judge(scenario, checks, entries) {
  const whole = entries.find((e) => !e.check);
  const perCheck = new Map(entries.filter((e) => e.check).map((e) => [e.check, e]));
  const failing = checks ? checks.filter(isFailing) : [{ id: '(no result)', status: 'FAILURE', errorMessage: 'the suite wrote no checks.json for this scenario' }];
  const problems = [];
  if (whole) {
    if (failing.length === 0) problems.push(`listed (line ${whole.line}) but passes: remove the entry`);
    return { verdict: problems.length ? 'STALE' : 'expected', failing, problems, reason: whole.reason };
  }
  const unexpected = failing.filter((c) => !perCheck.has(c.id));
  for (const [id, e] of perCheck) {
    const seen = (checks ?? []).filter((c) => c.id === id);
    const passes = failing.length === 0 || (seen.length > 0 && seen.every((c) => c.status === 'SUCCESS'));
    if (passes) problems.push(`check ${id} listed (line ${e.line}) but passes: remove the entry`);
  }
  const reasons = [...new Set([...perCheck.values()].map((e) => e.reason))].join('; ');
  if (unexpected.length) return { verdict: 'REGRESSION', failing: unexpected, problems, reason: reasons };
  if (problems.length) return { verdict: 'STALE', failing, problems, reason: reasons };
  return { verdict: failing.length ? 'expected' : 'pass', failing, problems, reason: reasons };
}

function describe(c) {
  return `[${c.status}] ${c.id}${c.errorMessage ? `: ${c.errorMessage}` : ''}`;
}

function markdown(rows) {
  const out = [];
  for (const era of eraNames) {
    const { pkg, wire } = ERAS[era];
    const mine = rows.filter((r) => r.era === era);
    const passed = mine.filter((r) => r.verdict === 'pass').length;
    out.push(`### ${era}: @modelcontextprotocol/conformance ${suiteVersion(pkg)}, wire ${wire}`, '');
    out.push(`${passed} of ${mine.length} scenarios pass.`, '');
    out.push('| Scenario | Result | Failing checks | Reason |', '|---|---|---|---|');
    for (const r of mine) {
      const result = r.verdict === 'pass' ? 'pass' : r.verdict === 'expected' ? 'expected failure' : r.verdict;
      const ids = [...new Set(r.failing.map((c) => `\`${c.id}\``))].join(', ');
      out.push(`| ${r.scenario} | ${result} | ${ids} | ${(r.reason ?? '').replaceAll('|', '\\|')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

async function main() {
  const baseline = readBaseline();
  const keep = process.env.CONFORMANCE_RESULTS;
  const outDir = keep ? path.resolve(keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'fleetmcp-conformance-'));
  fs.mkdirSync(outDir, { recursive: true });

  const server = await startServer();
  console.log(`conformance: fleetmcp serve ${serveArgs.join(' ')} at ${server.url}`);
  const rows = [];
  const errors = [];
  try {
    for (const era of eraNames) {
      const { pkg } = ERAS[era];
      const scenarios = listScenarios(era);
      const eraDir = path.join(outDir, era);
      fs.rmSync(eraDir, { recursive: true, force: true });
      const started = Date.now();
      await runSuite(era, server.url, scenarios, outDir);
      const results = readResults(eraDir);
      console.log(`\n== ${era}: @modelcontextprotocol/conformance ${suiteVersion(pkg)}, ${scenarios.length} scenarios (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      for (const e of baseline.filter((b) => b.era === era && !scenarios.includes(b.scenario)))
        errors.push(`${BASELINE}:${e.line}: ${era} has no scenario '${e.scenario}'`);
      for (const scenario of scenarios) {
        const entries = baseline.filter((b) => b.era === era && b.scenario === scenario);
        const r = { era, scenario, ...judge(scenario, results.get(scenario), entries) };
        rows.push(r);
        const mark = { pass: 'ok  ', expected: 'xfail', REGRESSION: 'FAIL', STALE: 'STALE' }[r.verdict];
        console.log(`${mark.padEnd(5)} ${scenario}${r.verdict === 'expected' ? `  (${r.reason})` : ''}`);
        if (r.verdict === 'REGRESSION') for (const c of r.failing) console.log(`        ${describe(c)}`);
        for (const p of r.problems) console.log(`        ${p}`);
      }
    }
  } finally {
    await server.stop();
  }

  const skipped = [...new Set(baseline.filter((b) => !eraNames.includes(b.era)).map((b) => b.era))];
  if (skipped.length) console.log(`\n(baseline entries of eras not run: ${skipped.join(', ')})`);
  if (process.env.CONFORMANCE_REPORT) fs.writeFileSync(process.env.CONFORMANCE_REPORT, markdown(rows));

  const bad = rows.filter((r) => r.verdict === 'REGRESSION' || r.verdict === 'STALE');
  const count = (v) => rows.filter((r) => r.verdict === v).length;
  console.log(`\n${count('pass')} pass, ${count('expected')} expected failures, ${count('REGRESSION')} regressions, ${count('STALE')} stale baseline entries`);
  for (const e of errors) console.log(e);
  if (bad.length || errors.length) {
    console.log(`results kept in ${outDir} (checks.json per scenario, <era>.log for the suite's output)`);
    console.log('A regression: fix fleetmcp. A stale entry or a new expected failure: edit tests/conformance/expected-failures.txt and docs/CONFORMANCE.md.');
    process.exit(1);
  }
  if (!keep) fs.rmSync(outDir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
