// Raw HTTP checks that no client library exercises on its own: bearer-token
// refusal, the modern era's header and version validation, and GET.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, post, modernMeta, assertSixTools, MODERN } from './helpers.mjs';

let server, auth;
before(async () => {
  server = await startServer();
  auth = { Authorization: `Bearer ${server.token}` };
});
after(async () => { await server?.stop(); });

const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };

describe('bearer tokens', () => {
  for (const [what, headers] of [
    ['a wrong token', { Authorization: 'Bearer wrong-token-123' }],
    ['no token', {}],
  ]) {
    it(`${what}: 401 with a Bearer challenge`, async () => {
      const res = await post(server.url, ping, headers);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    });
  }

  it('the right token: 200', async () => {
    const res = await post(server.url, ping, auth);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { jsonrpc: '2.0', id: 1, result: {} });
  });
});

describe('modern era (2026-07-28) over raw HTTP', () => {
  // A modern request: version in _meta and in the header, plus Mcp-Method.
  function modern(method, { version = MODERN, header = version, id = 7, params = {} } = {}) {
    return post(
      server.url,
      { jsonrpc: '2.0', id, method, params: { ...params, _meta: modernMeta(version) } },
      { ...auth, 'MCP-Protocol-Version': header, 'Mcp-Method': method },
    );
  }

  it('tools/list carries resultType, ttlMs and cacheScope', async () => {
    const res = await modern('tools/list');
    assert.equal(res.status, 200);
    const { result } = res.json;
    assert.equal(result.resultType, 'complete');
    assert.ok(Number.isInteger(result.ttlMs) && result.ttlMs >= 0, `ttlMs ${result.ttlMs}`);
    assert.ok(['public', 'private'].includes(result.cacheScope), `cacheScope ${result.cacheScope}`);
    assert.equal(result._meta['io.modelcontextprotocol/serverInfo'].name, 'fleetmcp');
    assertSixTools(result.tools);
  });

  it('header 2025-11-25 against _meta 2026-07-28: 400, -32020', async () => {
    const res = await modern('tools/list', { header: '2025-11-25' });
    assert.equal(res.status, 400);
    assert.equal(res.json.id, 7); // the 2.x client only reads errors that echo its id
    assert.equal(res.json.error.code, -32020);
  });

  it('unsupported version 2099-01-01: 400, -32022 listing the supported versions', async () => {
    const res = await modern('tools/list', { version: '2099-01-01' });
    assert.equal(res.status, 400);
    assert.equal(res.json.id, 7);
    assert.equal(res.json.error.code, -32022);
    assert.ok(res.json.error.data.supported.includes(MODERN), JSON.stringify(res.json.error));
    assert.equal(res.json.error.data.requested, '2099-01-01');
  });

  it('an unknown method: 404, -32601', async () => {
    const res = await modern('subscriptions/listen');
    assert.equal(res.status, 404);
    assert.equal(res.json.error.code, -32601);
  });
});

describe('other HTTP methods', () => {
  it('GET /mcp: 405 with Allow: POST', async () => {
    const res = await fetch(server.url, { headers: { ...auth, Accept: 'text/event-stream' } });
    await res.arrayBuffer();
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
  });
});
