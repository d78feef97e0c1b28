// The client examples of docs/WEBSOCKET.md, run as written against a real
// fleetmcp with the record API on: only the port and the token are replaced.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const doc = readFileSync(join(here, '../../docs/WEBSOCKET.md'), 'utf8');

function example(language) {
  const found = new RegExp(`<!-- example: ${language} -->\\n\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(doc);
  assert.ok(found, `docs/WEBSOCKET.md has no ${language} example`);
  return found[1];
}

function run(command, args, env = {}) {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 30000, env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr }));
  });
}

let server, dir;
before(async () => {
  server = await startServer({ MCP_ENABLED: 'true', MCP_ALLOWED_MODELS: 'users,tickets=tickets.inc,change_log' });
  dir = mkdtempSync(join(tmpdir(), 'fleetmcp-ws-examples-'));
});
after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function adapted(code) {
  const port = new URL(server.url).port;
  return code.replaceAll('localhost:8892', `localhost:${port}`).replaceAll('your-secret-token', server.token);
}

function checkJavaScript(result) {
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /Error/);
  assert.match(result.stdout, /Data: \[/);
  assert.match(result.stdout, /INC0002/);  // the fixture's one breached ticket
  assert.match(result.stdout, /Connection closed/);
}

describe('docs/WEBSOCKET.md examples', () => {
  it('JavaScript with Node\'s own WebSocket', async () => {
    const file = join(dir, 'native.mjs');
    writeFileSync(file, adapted(example('javascript')));
    // Node 22 has WebSocket built in; Node 20 behind a flag.
    const flags = typeof WebSocket === 'undefined' ? ['--experimental-websocket'] : [];
    checkJavaScript(await run(process.execPath, [...flags, file]));
  });

  it('JavaScript with the ws package', async () => {
    const file = join(dir, 'with-ws.cjs');
    writeFileSync(file, "const WebSocket = require('ws');\n" + adapted(example('javascript')));
    checkJavaScript(await run(process.execPath, [file], { NODE_PATH: join(here, 'node_modules') }));
  });

  it('Python with websockets', async (t) => {
    // The Debian package installs for the system interpreter, which a
    // version manager's python3 on PATH may hide.
    let python = null;
    for (const candidate of ['python3', '/usr/bin/python3'])
      if ((await run(candidate, ['-c', 'import websockets'])).code === 0) {
        python = candidate;
        break;
      }
    if (!python) {
      t.skip('no python3 with the websockets package (apt-get install python3-websockets)');
      return;
    }
    const file = join(dir, 'example.py');
    writeFileSync(file, adapted(example('python')));
    const result = await run(python, [file]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Users: \[.*'email': 'admin@example\.com'/m);
    assert.match(result.stdout, /^Ticket: \{'id': 2, 'number': 'INC0002'/m);
  });

  it('each request left an audit line naming the analyst', () => {
    const lines = server.audit.map((line) => JSON.parse(line));
    assert.ok(lines.some((l) => l.caller === 'e2e' && l.tool === 'ws:list' && l.outcome === 'ok'));
    assert.ok(!server.audit.some((line) => line.includes(server.token)));
  });
});
