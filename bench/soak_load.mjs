// Load generator for bench/soak.sh (see there and bench/README.md): SOAK_CLIENTS
// loops of legacy-era tools/call POSTs with a fixed mix, one database restart at
// half time, RSS and backend samples every 30 s, then the report and a verdict.
// Plain Node 18+: global fetch and AbortController, no npm packages.
import { execFile } from "node:child_process";
import { createReadStream, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { promisify } from "node:util";

const need = (k) => process.env[k] ?? (console.error(`${k} is not set`), process.exit(2));
const url = need("SOAK_URL"), token = need("SOAK_TOKEN"), serverPid = need("SOAK_SERVER_PID");
const seconds = Number(need("SOAK_SECONDS")), clients = Number(need("SOAK_CLIENTS"));
const poolMax = Number(need("SOAK_POOL_MAX")), adminUrl = need("SOAK_ADMIN_URL");
const restartCmd = JSON.parse(need("SOAK_RESTART_CMD")), auditFile = need("SOAK_AUDIT_FILE");
const run = promisify(execFile);

// The mix. `slow` runs for seconds, so it meets the 1 s statement timeout, or is
// still running when the client aborts it and the server has to cancel it.
const imeis = ["860000000000001", "860000000000002", "860000000000003"];
const slow = "SELECT count(*) FROM generate_series(1, 100000000)";
const kinds = [
  { name: "point", share: 0.6, rows: 1, sql: () =>
      `SELECT imei, name, cost_centre FROM tracksolid.devices WHERE imei = '${imeis[Math.floor(Math.random() * 3)]}'` },
  { name: "rows1k", share: 0.25, rows: 1000, sql: () => "SELECT * FROM tracksolid.positions ORDER BY id LIMIT 1000" },
  { name: "timeout", share: 0.1, rows: 1, sql: () => slow, expect: "Timed out" },
  { name: "abort", share: 0.05, rows: 1, sql: () => slow, abortMs: 200, expect: "client abort" },
];
const pick = () => {
  let r = Math.random();
  return kinds.find((k) => (r -= k.share) < 0) ?? kinds[0];
};

const t0 = performance.now();
const now = () => (performance.now() - t0) / 1000;  // seconds since the start
const done = [];       // {kind, outcome, start, end, ms, responded}
const examples = {};   // outcome -> first full text seen, for the report
const restart = {};    // at, up, recovered: seconds
let seq = 0;

// One call, classified: "ok", the tool error's first words ("Timed out",
// "PostgreSQL error 57014", "database connection lost", ...), "HTTP <status>",
// "JSON-RPC <code>", "network <code>", "client abort" or "wrong row count".
async function call(kind) {
  const body = JSON.stringify({ jsonrpc: "2.0", id: ++seq, method: "tools/call",
    params: { name: "query", arguments: { sql: kind.sql(), max_rows: kind.rows } } });
  const ac = new AbortController();
  const timer = kind.abortMs && setTimeout(() => ac.abort(), kind.abortMs);
  const start = now();
  let outcome, text = "", responded = false;
  try {
    const res = await fetch(url, { method: "POST", body, signal: ac.signal, headers: {
      Authorization: `Bearer ${token}`, "Content-Type": "application/json",
      Accept: "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25" } });
    text = await res.text();
    responded = true;
    if (!res.ok) outcome = `HTTP ${res.status}`;
    else {
      const reply = JSON.parse(text);
      const result = reply.result;
      if (reply.error) outcome = `JSON-RPC ${reply.error.code}`;
      else if (result.isError) {
        text = result.content[0].text;
        outcome = text.split(/[:\n]/)[0].slice(0, 40);
      } else outcome = result.structuredContent.row_count === kind.rows ? "ok" : "wrong row count";
    }
  } catch (e) {
    outcome = e.name === "AbortError" ? "client abort" : `network ${e.cause?.code ?? e.message}`;
    text = String(e.cause ?? e);
  } finally {
    clearTimeout(timer);
  }
  const end = now();
  if (outcome !== "ok" && !(outcome in examples)) examples[outcome] = text.slice(0, 300);
  if (outcome === "ok" && restart.up !== undefined && restart.recovered === undefined) restart.recovered = end;
  done.push({ kind: kind.name, outcome, start, end, ms: (end - start) * 1000, responded });
  return outcome;
}

async function client() {
  while (now() < seconds) {
    const kind = pick();
    const outcome = await call(kind);
    // Back off after an unplanned error, as a real client would: while the
    // database is down, 16 tight loops would only measure how fast we can fail.
    if (outcome !== "ok" && outcome !== kind.expect) await new Promise((r) => setTimeout(r, 100));
  }
}

// pg_ctl restart -m fast through the harness; "recovered" is the first ok that
// completes after the command returned (the new postmaster accepts connections).
async function restartDatabase() {
  restart.at = now();
  console.log(`t=${restart.at.toFixed(0)}s  restarting PostgreSQL (pg_ctl restart -m fast)`);
  await run(restartCmd[0], restartCmd.slice(1));
  restart.up = now();
  console.log(`t=${restart.up.toFixed(0)}s  PostgreSQL is back (restart took ${(restart.up - restart.at).toFixed(2)} s)`);
}

const mb = (kb) => (kb / 1024).toFixed(1);
function memory() {
  const status = readFileSync(`/proc/${serverPid}/status`, "utf8");
  const field = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))[1]);
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}
async function backends() {
  try {
    const { stdout } = await run("psql", ["-XAtq", "-d", adminUrl, "-c",
      "SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity WHERE usename = 'analytics_ro'"]);
    const [all, active] = stdout.trim().split("|").map(Number);
    return { all, active };
  } catch {
    return { all: NaN, active: NaN };  // the database is restarting
  }
}

const rssSamples = [];
let lastCount = 0, lastTime = 0;
async function sample(label) {
  const m = memory(), b = await backends(), t = now();
  rssSamples.push(m.rss);
  const rate = (done.length - lastCount) / Math.max(t - lastTime, 1e-3);
  const errors = done.slice(lastCount).filter((d) => d.outcome !== "ok").length;
  [lastCount, lastTime] = [done.length, t];
  const pg = Number.isNaN(b.all) ? "backends - (database restarting)" : `backends ${b.all} (${b.active} active)`;
  const load = label === "sample" ? `  ${rate.toFixed(0)} req/s, ${errors} not ok since the last sample` : "";
  console.log(`t=${t.toFixed(0)}s  ${label.padEnd(6)} VmRSS ${mb(m.rss)} MB  VmHWM ${mb(m.hwm)} MB  ${pg}${load}`);
  return { ...m, backends: b };
}

// --- the run ---
const first = await sample("start");
const ticker = setInterval(() => sample("sample"), 30_000);
const restarting = new Promise((r) => setTimeout(r, (seconds / 2) * 1000)).then(restartDatabase);
await Promise.all([...Array(clients)].map(client));
await restarting;
clearInterval(ticker);
const elapsed = now();
await new Promise((r) => setTimeout(r, 1000));  // let the last cancels reach PostgreSQL
const last = await sample("end");

// --- the report ---
const pct = (sorted, p) => (sorted.length ? sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] : NaN);
const latency = (rows) => {
  const ms = rows.filter((d) => d.responded).map((d) => d.ms).sort((a, b) => a - b);
  const f = (v) => (Number.isNaN(v) ? "-" : v.toFixed(1)).padStart(9);
  return `${String(ms.length).padStart(8)} ${f(pct(ms, 0.5))} ${f(pct(ms, 0.99))} ${f(ms.at(-1) ?? NaN)}`;
};
const countBy = (rows) => rows.reduce((m, d) => m.set(d.outcome, (m.get(d.outcome) ?? 0) + 1), new Map());
const sortedCounts = (rows) => [...countBy(rows)].sort((a, b) => b[1] - a[1]);

const served = done.filter((d) => d.responded).length;
console.log(`\n== fleetmcp soak: ${elapsed.toFixed(0)} s, ${clients} clients, MCP_POOL_MAX=${poolMax} ==`);
console.log(`requests: ${done.length} sent, ${served} answered: ${(served / elapsed).toFixed(1)} answered/s, ` +
  `${(done.filter((d) => d.outcome === "ok").length / elapsed).toFixed(1)} ok/s`);

console.log("\noutcomes (every request; the text is the first one seen of its kind)");
for (const [outcome, n] of sortedCounts(done))
  console.log(`  ${String(n).padStart(8)}  ${outcome}${examples[outcome] ? `  | ${examples[outcome].replace(/\n/g, " ")}` : ""}`);

console.log("\nlatency of answered requests, ms");
console.log(`  ${"kind".padEnd(8)} ${"answered".padStart(8)} ${"p50".padStart(9)} ${"p99".padStart(9)} ${"max".padStart(9)}   outcomes`);
for (const k of [...kinds.map((k) => k.name), "all"]) {
  const rows = k === "all" ? done : done.filter((d) => d.kind === k);
  const mix = k === "all" ? "" : sortedCounts(rows).map(([o, n]) => `${o} ${n}`).join(", ");
  console.log(`  ${k.padEnd(8)} ${latency(rows)}   ${mix}`);
}

// Requests that overlapped the outage (sent before recovery, finished after the
// restart began) may fail in any way; every other request must end as planned.
const inWindow = (d) => restart.at !== undefined && d.end >= restart.at &&
  (restart.recovered === undefined || d.start < restart.recovered);
const expected = (d) => d.outcome === "ok" || d.outcome === kinds.find((k) => k.name === d.kind).expect || inWindow(d);
console.log("\ndatabase restart");
if (restart.at === undefined) console.log("  not reached");
else {
  const rec = restart.recovered;
  console.log(`  restart began at t=${restart.at.toFixed(1)}s; pg_ctl returned after ${(restart.up - restart.at).toFixed(2)} s`);
  console.log(rec === undefined ? "  no ok request after the restart" :
    `  recovery: first ok ${(rec - restart.at).toFixed(2)} s after the restart began ` +
    `(${((rec - restart.up) * 1000).toFixed(0)} ms after pg_ctl returned)`);
  const window = done.filter((d) => inWindow(d) && d.outcome !== "ok");
  console.log(`  not ok while it lasted (requests that overlapped it): ${window.length}`);
  for (const [o, n] of sortedCounts(window)) console.log(`    ${String(n).padStart(6)}  ${o}`);
  const late = done.filter((d) => rec !== undefined && d.start >= rec &&
    /connection|unavailable|network/i.test(d.outcome));
  console.log(`  connection errors on requests sent after recovery: ${late.length}`);
}

// The server's own account (one audit line per tool call): cancelled calls
// that ended near 200 ms show the abort stopped the query in PostgreSQL.
const audit = new Map();
for await (const line of createInterface({ input: createReadStream(auditFile) })) {
  const a = JSON.parse(line);
  const key = [a.outcome, a.error, a.sqlstate].filter(Boolean).join(" ");
  const e = audit.get(key) ?? { n: 0, ms: 0 };
  audit.set(key, { n: e.n + 1, ms: e.ms + a.ms });
}
console.log("\nserver audit lines: outcome, error kind, SQLSTATE (count, mean ms)");
for (const [key, e] of [...audit].sort((a, b) => b[1].n - a[1].n))
  console.log(`  ${String(e.n).padStart(8)}  ${key.padEnd(36)} ${(e.ms / e.n).toFixed(0).padStart(6)} ms`);

const peak = Math.max(last.hwm, ...rssSamples);
console.log(`\nserver memory: VmRSS start ${mb(first.rss)} MB, end ${mb(last.rss)} MB, ` +
  `peak ${mb(peak)} MB (VmHWM); samples ${rssSamples.map(mb).join(" ")}`);
console.log(`backends held by the server at the end: ${last.backends.all} (${last.backends.active} active), ` +
  `MCP_POOL_MAX=${poolMax}`);

const unexpected = done.filter((d) => !expected(d));
const problems = [];
if (unexpected.length)
  problems.push(`${unexpected.length} unexpected: ` + sortedCounts(unexpected).map(([o, n]) => `${o} ${n}`).join(", "));
if (!(last.backends.all <= poolMax)) problems.push(`${last.backends.all} backends > MCP_POOL_MAX`);
if (last.backends.active > 0) problems.push(`${last.backends.active} queries still active`);
if (restart.at !== undefined && restart.recovered === undefined) problems.push("never recovered after the restart");
console.log(`verdict: ${problems.length ? problems.join("; ") : "no unexpected errors (timeouts and aborts as planned, " +
  "connection errors only while the database restarted), backends within the pool"}`);
process.exit(problems.length ? 1 : 0);
