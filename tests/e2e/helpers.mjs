// Shared by the e2e test files: starting fleetmcp, raw HTTP requests, and the
// fixture checks (tests/fixtures/fleet_small.sql) that every client runs.
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from '../harness/serve.mjs';

function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (see tests/e2e/run.sh)`);
  return value;
}

export const BIN = requireEnv('FLEETMCP_BIN');
export const DATABASE_URL = requireEnv('FLEETMCP_TEST_DATABASE_URL');
export const MODERN = '2026-07-28';
export const TOOL_NAMES = ['describe_table', 'list_functions', 'list_schemas', 'list_tables', 'query', 'sample_table'];

// Starts `fleetmcp serve` with a fresh token and any `extraEnv` settings;
// see tests/harness/serve.mjs.
export async function startServer(extraEnv = {}) {
  const token = randomBytes(16).toString('hex');
  const server = await serve(BIN, { env: { ...process.env, DATABASE_URL, MCP_AUTH_TOKENS: `e2e:${token}`, ...extraEnv } });
  return { ...server, token };
}

// StdioClientTransport parameters (same shape in SDK 1.x and client 2.x).
// stdio mode writes its audit lines to stderr; the tests don't need them.
export function stdioParams() {
  return {
    command: BIN,
    args: ['stdio'],
    env: { DATABASE_URL, PATH: process.env.PATH },
    stderr: 'ignore',
  };
}

export function bearer(token) {
  return { requestInit: { headers: { Authorization: `Bearer ${token}` } } };
}

// A raw JSON-RPC POST; `json` is null when the body is empty or not JSON.
export async function post(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* 202, 401: no JSON-RPC body */ }
  return { status: res.status, headers: res.headers, json };
}

// The _meta a modern (2026-07-28) request carries.
export function modernMeta(version = MODERN) {
  return {
    'io.modelcontextprotocol/protocolVersion': version,
    'io.modelcontextprotocol/clientInfo': { name: 'e2e-raw', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': {},
  };
}

// RFC 4180 fields of a CSV text, line by line; an unquoted empty field is
// null (NULL), a quoted one the empty string.
export function parseCsv(text) {
  const lines = [];
  let line = [], field = '', quoted = false, wasQuoted = false;
  const end = () => { line.push(wasQuoted || field !== '' ? field : null); field = ''; wasQuoted = false; };
  for (let i = 0; i < text.length; ++i) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; ++i; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') { quoted = wasQuoted = true; }
    else if (c === ',') end();
    else if (c === '\n') { end(); lines.push(line); line = []; }
    else field += c;
  }
  if (field !== '' || line.length) { end(); lines.push(line); }
  return lines;
}

// Checks that a query or sample_table text (CSV, then a footer line) holds
// exactly the rows of structuredContent; returns the footer.
export function assertCsvMatches(text, structured) {
  const lines = text.split('\n');
  const footer = lines.pop();
  const table = parseCsv(lines.join('\n') + '\n');
  const header = table.shift();
  assert.equal(table.length, structured.row_count, text);
  assert.equal(structured.rows.length, structured.row_count);
  structured.rows.forEach((row, r) => {
    assert.deepEqual(header, Object.keys(row));
    header.forEach((key, c) => {
      const want = row[key], got = table[r][c];
      if (want === null) assert.equal(got, null, `${key} of row ${r}`);
      else if (typeof want === 'number') assert.equal(Number(got), want, `${key} of row ${r}`);
      else if (typeof want === 'object') assert.deepEqual(JSON.parse(got), want, `${key} of row ${r}`);
      else assert.equal(got, String(want), `${key} of row ${r}`);
    });
  });
  const n = structured.row_count;
  assert.ok(footer.startsWith(`(${n} ${n === 1 ? 'row' : 'rows'}`), footer);
  assert.equal(/more rows exist/.test(footer), structured.truncated, footer);
  return footer;
}

// Calls a tool that must succeed; checks that the text block says what
// structuredContent says (CSV for the row tools, the same JSON for the
// others) and returns the latter.
export async function callOk(client, name, args = {}) {
  const res = await client.callTool({ name, arguments: args });
  assert.notEqual(res.isError, true, `${name} failed: ${res.content?.[0]?.text}`);
  assert.equal(res.content[0].type, 'text');
  if (name === 'query' || name === 'sample_table') assertCsvMatches(res.content[0].text, res.structuredContent);
  else assert.deepEqual(res.structuredContent, JSON.parse(res.content[0].text));
  return res.structuredContent;
}

// Calls a tool that must fail in-band (isError), returns the error text.
export async function callError(client, name, args) {
  const res = await client.callTool({ name, arguments: args });
  assert.equal(res.isError, true, `${name} should have failed: ${JSON.stringify(res)}`);
  return res.content[0].text;
}

// The tools/list checks, shared by the clients and the raw modern request.
export function assertSixTools(tools) {
  assert.deepEqual(tools.map((t) => t.name).sort(), TOOL_NAMES);
  for (const t of tools) {
    assert.equal(t.inputSchema?.type, 'object', `${t.name} inputSchema`);
    assert.equal(t.outputSchema?.type, 'object', `${t.name} outputSchema`);
    assert.equal(t.annotations?.readOnlyHint, true, `${t.name} readOnlyHint`);
  }
}

// Registers, inside the caller's describe(), one test per tool and per error
// path. getClient() returns the connected client (SDK 1.x or client 2.x).
export function toolTests(getClient) {
  it('listTools: exactly the six read-only tools with schemas', async () => {
    assertSixTools((await getClient().listTools()).tools);
  });

  it('list_schemas: the readable schemas only', async () => {
    const { result } = await callOk(getClient(), 'list_schemas');
    const names = result.map((r) => r.schema);
    assert.deepEqual(names, ['fuel', 'reporting', 'tickets', 'tracksolid']);
    assert.ok(!names.includes('secret_stuff'));
    assert.equal(result.find((r) => r.schema === 'reporting').objects, 5);  // depot_notes (the policy tests') is the fifth
  });

  it('list_tables(reporting): kinds of tables and views', async () => {
    const { result } = await callOk(getClient(), 'list_tables', { schema: 'reporting' });
    const kind = Object.fromEntries(result.map((r) => [r.name, r.kind]));
    assert.equal(kind.v_trips, 'MATERIALIZED VIEW');
    assert.equal(kind.v_daily_summary, 'VIEW');
    assert.equal(kind['odd"name'], 'BASE TABLE');
  });

  it('describe_table(tracksolid, devices): columns in order', async () => {
    const { result } = await callOk(getClient(), 'describe_table', { schema: 'tracksolid', table: 'devices' });
    assert.deepEqual(result.map((c) => c.column), ['imei', 'name', 'cost_centre', 'active']);
    assert.equal(result[0].nullable, 'NO');
    assert.equal(result[0].comment, 'device identifier');
  });

  it('list_functions(): fn_points with its signature', async () => {
    const { result } = await callOk(getClient(), 'list_functions');
    const fn = result.find((f) => f.name === 'fn_points');
    assert.ok(fn, JSON.stringify(result));
    assert.equal(fn.args, 'p_imei text');
    assert.equal(fn.returns, 'bigint');
  });

  it('sample_table: a quoted table name returns its 2 rows', async () => {
    const out = await callOk(getClient(), 'sample_table', { schema: 'reporting', table: 'odd"name' });
    assert.equal(out.row_count, 2);
    assert.equal(out.truncated, false);
    assert.deepEqual(out.rows.map((r) => r.id), [1, 2]);
    assert.equal(out.rows[0].select, 'from');
  });

  it('query: count(*) is a JSON number', async () => {
    const out = await callOk(getClient(), 'query', { sql: 'SELECT count(*) AS n FROM tracksolid.positions' });
    assert.deepEqual(out, { row_count: 1, truncated: false, rows: [{ n: 3000 }] });
  });

  it('query: max_rows truncates', async () => {
    const out = await callOk(getClient(), 'query', {
      sql: 'SELECT id FROM tracksolid.positions ORDER BY id',
      max_rows: 5,
    });
    assert.equal(out.truncated, true);
    assert.equal(out.truncated_by, 'max_rows');
    assert.equal(out.row_count, 5);
    assert.deepEqual(out.rows.map((r) => r.id), [1, 2, 3, 4, 5]);
  });

  it('query: 1,000 wide rows are cut to the text budget, and the footer says how to narrow', async () => {
    const res = await getClient().callTool({
      name: 'query', arguments: { sql: 'SELECT * FROM tracksolid.positions ORDER BY id LIMIT 1000' },
    });
    const out = res.structuredContent;
    assert.equal(out.truncated, true);
    assert.equal(out.truncated_by, 'text_budget');
    assert.ok(out.row_count > 50 && out.row_count < 1000, `${out.row_count} rows`);
    const text = res.content[0].text;
    // Under the default budget (8,000 tokens at 2.5 bytes each): the common
    // client neither warns (10,000 tokens) nor refuses (25,000).
    assert.ok(Buffer.byteLength(text) <= 20000, `${Buffer.byteLength(text)} bytes`);
    const footer = assertCsvMatches(text, out);
    assert.match(footer, /MCP_MAX_TEXT_TOKENS/);
    assert.match(footer, /aggregate or filter in SQL/);
    const tool = (await getClient().listTools()).tools.find((t) => t.name === 'query');
    assert.equal(tool._meta?.['anthropic/maxResultSizeChars'], 20000);
  });

  it('query: a missing table is an in-band error with SQLSTATE 42P01', async () => {
    const text = await callError(getClient(), 'query', { sql: 'SELECT * FROM no_such_table' });
    assert.match(text, /42P01/);
  });

  it('query: a write is refused and changes nothing', async () => {
    const text = await callError(getClient(), 'query', { sql: 'DELETE FROM tickets.inc' });
    assert.match(text, /DELETE/);
    const out = await callOk(getClient(), 'query', { sql: 'SELECT count(*) AS n FROM tickets.inc' });
    assert.equal(out.rows[0].n, 3);
  });
}

// Registers the resource, prompt, completion and progress tests. `callTool`
// passes request options the way the client's version wants them.
export function featureTests(getClient, callTool) {
  it('listResources: every readable relation and function, page by page', async () => {
    const uris = [];
    let cursor;
    do {
      const page = await getClient().listResources(cursor ? { cursor } : undefined);
      uris.push(...page.resources.map((r) => r.uri));
      cursor = page.nextCursor;
    } while (cursor);
    assert.equal(uris[0], 'fleetmcp://overview');
    for (const uri of ['fleetmcp://table/tickets/inc', 'fleetmcp://table/reporting/v_trips',
      'fleetmcp://function/reporting/fn_points']) assert.ok(uris.includes(uri), uri);
    assert.ok(!uris.some((u) => u.includes('secret_stuff')));
  });

  it('readResource: a table with columns, keys and sensitive columns flagged', async () => {
    const { contents } = await getClient().readResource({ uri: 'fleetmcp://table/tickets/users' });
    const doc = JSON.parse(contents[0].text);
    assert.deepEqual(doc.primary_key, ['id']);
    assert.equal(doc.columns.find((c) => c.name === 'password_hash').sensitive, true);
  });

  it('listResourceTemplates: {schema}/{table}', async () => {
    const { resourceTemplates } = await getClient().listResourceTemplates();
    assert.ok(resourceTemplates.some((t) => t.uriTemplate === 'fleetmcp://table/{schema}/{table}'));
  });

  it('prompts: listed with arguments, rendered with them', async () => {
    const { prompts } = await getClient().listPrompts();
    const names = prompts.map((p) => p.name);
    for (const n of ['daily_fleet_summary', 'open_tickets_by_sla', 'fuel_anomalies']) assert.ok(names.includes(n), n);
    const got = await getClient().getPrompt({ name: 'daily_fleet_summary', arguments: { start_date: '2025-03-01' } });
    assert.match(got.messages[0].content.text, /reporting\.v_daily_summary/);
  });

  it('complete: table names of a schema', async () => {
    const { completion } = await getClient().complete({
      ref: { type: 'ref/prompt', name: 'explore_table' },
      argument: { name: 'table', value: 'inc' },
      context: { arguments: { schema: 'tickets' } },
    });
    assert.deepEqual(completion.values, ['inc', 'inc_open_sla']);
  });

  it('callTool with onprogress: progress arrives on an SSE response, then the result', async () => {
    const progress = [];
    const res = await callTool(getClient(), {
      name: 'query',
      arguments: { sql: 'SELECT count(*) AS n FROM generate_series(1, 3000) a, generate_series(1, 3000) b' },
    }, { onprogress: (p) => progress.push(p) });
    assert.notEqual(res.isError, true, res.content?.[0]?.text);
    assert.equal(res.structuredContent.rows[0].n, 9000000);
    assert.ok(progress.length >= 1, 'no progress notification');
    assert.equal(progress[0].message, 'query started');
  });
}
