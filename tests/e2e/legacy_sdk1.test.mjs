// @modelcontextprotocol/sdk 1.x: a legacy-era (initialize handshake) client,
// over Streamable HTTP with a bearer token and over stdio.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startServer, stdioParams, bearer, toolTests, featureTests, callOk } from './helpers.mjs';

const info = { name: 'e2e-sdk1', version: '1.0.0' };
// SDK 1.x takes request options after an optional result schema.
const callTool = (client, params, options) => client.callTool(params, undefined, options);

describe('SDK 1.x over Streamable HTTP', () => {
  let server, client;
  before(async () => {
    server = await startServer();
    client = new Client(info);
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url), bearer(server.token)));
  });
  after(async () => {
    await client?.close();
    await server?.stop();
  });

  it('initialize: server info and the tools capability', () => {
    assert.equal(client.getServerVersion().name, 'fleetmcp');
    assert.ok(client.getServerCapabilities().tools);
  });

  it('ping', async () => {
    assert.deepEqual(await client.ping(), {});
  });

  toolTests(() => client);
  featureTests(() => client, callTool);

  it('audits tool calls under the token owner', async () => {
    await callOk(client, 'list_schemas');
    // The audit line is written before the reply, but reaches us through a pipe.
    for (let i = 0; i < 50 && !server.audit.length; i++) await new Promise((r) => setTimeout(r, 20));
    const records = server.audit.map((line) => JSON.parse(line));
    assert.ok(records.some((r) => r.caller === 'e2e' && r.tool === 'list_schemas' && r.outcome === 'ok'),
      server.audit.join('\n'));
  });

  for (const [label, headers] of [
    ['a wrong token', { Authorization: 'Bearer wrong-token-123' }],
    ['no token', {}],
  ]) {
    it(`connect() rejects with ${label}`, async () => {
      const c = new Client(info);
      const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers } });
      await assert.rejects(c.connect(transport), (err) => err.code === 401);
      await c.close();
    });
  }
});

describe('SDK 1.x over stdio', () => {
  let client;
  before(async () => {
    client = new Client(info);
    await client.connect(new StdioClientTransport(stdioParams()));
  });
  after(async () => {
    await client?.close();
  });

  it('ping', async () => {
    assert.deepEqual(await client.ping(), {});
  });

  toolTests(() => client);
  featureTests(() => client, callTool);
});
