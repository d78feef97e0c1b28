// @modelcontextprotocol/client 2.x: the dual-era client. Its default is the
// legacy handshake; 'auto' probes server/discover and should land on the
// modern (2026-07-28, stateless) era; a pin allows the modern era only.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { startServer, stdioParams, bearer, toolTests, featureTests, MODERN } from './helpers.mjs';

const info = { name: 'e2e-client2', version: '2.0.0' };
const callTool = (client, params, options) => client.callTool(params, options);
const modes = [
  ['default', {}, 'legacy'],
  ['auto', { versionNegotiation: { mode: 'auto' } }, 'modern'],
  ['pin 2026-07-28', { versionNegotiation: { mode: { pin: MODERN } } }, 'modern'],
];

// One server for the whole file; each mode connects its own client to it.
let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

for (const [label, options, era] of modes) {
  describe(`client 2.x over Streamable HTTP, ${label} mode`, () => {
    let client;
    before(async () => {
      client = new Client(info, options);
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url), bearer(server.token)));
    });
    after(async () => { await client?.close(); });

    it(`lands on the ${era} era`, () => {
      assert.equal(client.getProtocolEra(), era);
      assert.equal(client.getServerVersion()?.name, 'fleetmcp');
    });

    // ping was removed from the modern era (the client refuses it locally).
    if (era === 'legacy') it('ping', async () => { assert.deepEqual(await client.ping(), {}); });
    if (era === 'modern') {
      it('server/discover offers 2026-07-28 and the tools capability', () => {
        const discover = client.getDiscoverResult();
        assert.ok(discover.supportedVersions.includes(MODERN));
        assert.ok(discover.capabilities.tools);
        assert.ok(discover.capabilities.resources && discover.capabilities.prompts && discover.capabilities.completions);
      });
    }

    toolTests(() => client);
    featureTests(() => client, callTool);

    for (const [what, headers] of [
      ['a wrong token', { Authorization: 'Bearer wrong-token-123' }],
      ['no token', {}],
    ]) {
      it(`connect() rejects with ${what}`, async () => {
        const c = new Client(info, options);
        const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers } });
        await assert.rejects(c.connect(transport), (err) => err.status === 401);
        await c.close();
      });
    }
  });
}

describe('client 2.x over stdio, auto mode', () => {
  let client;
  before(async () => {
    client = new Client(info, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StdioClientTransport(stdioParams()));
  });
  after(async () => { await client?.close(); });

  it('lands on the modern era', () => {
    assert.equal(client.getProtocolEra(), 'modern');
  });

  toolTests(() => client);
  featureTests(() => client, callTool);
});
