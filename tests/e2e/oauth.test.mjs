// fleetmcp as an OAuth 2.1 resource server (MCP authorization, 2025-11-25):
// a real authorization server (oidc-provider) issues JWT access tokens for
// fleetmcp's audience, the official SDK 1.x client discovers it from the 401,
// registers, logs in with authorization code + PKCE and calls a tool; a
// client-credentials token does the same over raw HTTP; and tokens crafted
// here with node:crypto, signed by keys that a small fake issuer serves, are
// refused for the reason each one is wrong (audience, issuer, dates, alg,
// scope), and a rotated key is fetched at most once per 30 s.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { once } from 'node:events';
import { createServer, get as httpGet } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { BIN, DATABASE_URL, post, callOk } from './helpers.mjs';
import { serve } from '../harness/serve.mjs';

// oidc-provider's two warnings that say nothing about these tests: one at
// import on a Node.js older than 22 LTS (this runner's node may be 20; it runs
// there all the same, as these tests show), one for its in-memory store,
// which is all a test needs.
async function withoutDevWarnings(fn) {
  const warn = console.warn;
  const expected = /oidc-provider WARNING: (Unsupported runtime|a quick start development-only in-memory adapter)/;
  console.warn = (...args) => { if (!expected.test(String(args[0]))) warn(...args); };
  try { return await fn(); } finally { console.warn = warn; }
}
const { default: Provider, errors: oidcErrors } = await withoutDevWarnings(() => import('oidc-provider'));

const SCOPE = 'fleet:read';
const OTHER_RESOURCE = 'http://127.0.0.1:9/other-api'; // a resource server that is not fleetmcp
const REDIRECT_URI = 'http://127.0.0.1:9/oauth/callback'; // never fetched: the code is read off the redirect
const CC_CLIENT = { id: 'nightly-report', secret: randomBytes(24).toString('hex') };
const TOOL_CALL = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'query', arguments: { sql: 'SELECT 1' } } };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => Math.floor(Date.now() / 1000);
const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

function rsaKey(kid) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, alg: 'RS256', privateKey, publicKey };
}

const publicJwk = (k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, alg: k.alg, use: 'sig' });

async function listen(handler) {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

async function closeServer(server) {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

// A port free a moment ago: fleetmcp's audience names its port, so the port
// is chosen before the server starts (startFleet tries again on a clash).
async function freePort() {
  const { server } = await listen(() => {});
  const { port } = server.address();
  await closeServer(server);
  return port;
}

// ---------------------------------------------------------------- oidc-provider

// A real authorization server on a free loopback port. `audience()` is read at
// each token request: fleetmcp's audience is only known once its port is.
// oidc-provider writes its discovery document's endpoints (jwks_uri among
// them) from the request's Host header, so fleetmcp's fetcher must send the
// port there (RFC 9110 7.2), or it looks for the keys on port 80.
async function startAuthorizationServer(audience) {
  let provider;
  const { server, origin } = await listen((req, res) => {
    if (req.url.startsWith('/interaction/')) {
      interact(provider, req, res).catch((err) => {
        res.statusCode = 500;
        res.end(`interaction failed: ${err.stack}`);
      });
    } else {
      provider.callback()(req, res);
    }
  });
  const signing = rsaKey('as-key-1');
  const resourceServer = (aud) => ({
    scope: SCOPE,
    audience: aud,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  });
  provider = await withoutDevWarnings(() => new Provider(origin, {
    jwks: { keys: [{ ...signing.privateKey.export({ format: 'jwk' }), kid: signing.kid, alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    // The SDK registers with scope=fleet:read: a client's scope must be one the server knows.
    scopes: ['openid', 'offline_access', SCOPE],
    clients: [{
      client_id: CC_CLIENT.id,
      client_secret: CC_CLIENT.secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    }],
    pkce: { required: () => true }, // oidc-provider 9 supports S256 only
    features: {
      devInteractions: { enabled: false }, // the tiny handler in interact() logs in instead
      registration: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client, oneOf) => oneOf,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator) => {
          if (indicator === audience() || indicator === OTHER_RESOURCE) return resourceServer(indicator);
          throw new oidcErrors.InvalidTarget();
        },
      },
    },
    findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    // Users' access tokens carry their groups (fleetmcp reads MCP_OAUTH_GROUPS_CLAIM=groups).
    extraTokenClaims: (ctx, token) => (token.accountId ? { groups: ['dispatch'] } : undefined),
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: 600, AuthorizationCode: 60, ClientCredentials: 600, IdToken: 600,
      Interaction: 600, Session: 3600, Grant: 3600, RefreshToken: 3600,
    },
  }));
  return { provider, server, origin };
}

// The login and consent pages, answered without a person: the user is always
// "ana", and she grants whatever the client asked for.
async function interact(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: 'ana' } };
  } else if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes.join(' '));
    result = { consent: { grantId: await grant.save() } };
  } else {
    throw new Error(`unexpected prompt ${prompt.name}`);
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

// What a browser does with the authorization URL: follows the redirects
// through the interactions, keeping the provider's cookies, until one goes to
// the client's redirect_uri; returns that URL (code and state, or an error).
async function followAuthorization(url) {
  const jar = new Map();
  let next = new URL(url);
  for (let hop = 0; hop < 20; ++hop) {
    if (next.href.startsWith(REDIRECT_URI)) return next;
    const res = await fetch(next, {
      redirect: 'manual',
      headers: { Cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') },
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim(), value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now());
      if (!value || expired) jar.delete(name); else jar.set(name, value);
    }
    const location = res.headers.get('location');
    if (res.status < 300 || res.status > 399 || !location)
      throw new Error(`authorization stopped at ${next}: ${res.status} ${(await res.text()).slice(0, 2000)}`);
    next = new URL(location, next);
  }
  throw new Error('authorization: more than 20 redirects');
}

// The SDK's OAuthClientProvider, kept in memory; its "browser" is
// followAuthorization.
class HeadlessOAuthProvider {
  constructor() {
    this.redirectUrl = REDIRECT_URI;
    this.authorizationUrls = [];
  }
  get clientMetadata() {
    return {
      client_name: 'fleetmcp e2e (SDK 1.x)',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state() { return (this.sentState = randomBytes(16).toString('hex')); }
  clientInformation() { return this.client; }
  saveClientInformation(info) { this.client = info; }
  tokens() { return this.savedTokens; }
  saveTokens(tokens) { this.savedTokens = tokens; }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
  async redirectToAuthorization(url) {
    this.authorizationUrls.push(new URL(url));
    const back = await followAuthorization(url);
    if (back.searchParams.get('error'))
      throw new Error(`authorization refused: ${back.searchParams.get('error')}: ${back.searchParams.get('error_description')}`);
    assert.equal(back.searchParams.get('state'), this.sentState, 'state comes back unchanged');
    this.code = back.searchParams.get('code');
  }
}

async function clientCredentialsToken(issuer, resource) {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${Buffer.from(`${CC_CLIENT.id}:${CC_CLIENT.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: SCOPE, resource }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.token_type, 'Bearer');
  return body.access_token;
}

// ---------------------------------------------------------------- the fake issuer

// An issuer under the test's control: OpenID discovery and a JWKS whose keys
// the tests change; it records when the JWKS was fetched.
async function startFakeIssuer(keys) {
  const state = { keys, jwksFetches: [] };
  const { server, origin } = await listen((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer: origin, jwks_uri: `${origin}/jwks` }));
    } else if (req.url === '/jwks') {
      state.jwksFetches.push(Date.now());
      res.end(JSON.stringify({ keys: state.keys.map(publicJwk) }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  return Object.assign(state, { server, origin });
}

// A compact JWS signed here: RS256, ES256 and EdDSA with the key given, HS256
// with `secret`, "none" with no signature.
function jws(header, claims, { key, secret } = {}) {
  const input = `${b64url(header)}.${b64url(claims)}`;
  let signature;
  switch (header.alg) {
    case 'RS256': signature = sign('sha256', Buffer.from(input), key.privateKey); break;
    case 'ES256': signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }); break;
    case 'EdDSA': signature = sign(null, Buffer.from(input), key.privateKey); break;
    case 'HS256': signature = createHmac('sha256', secret).update(input).digest(); break;
    case 'none': signature = Buffer.alloc(0); break;
    default: throw new Error(`no signer for ${header.alg}`);
  }
  return `${input}.${signature.toString('base64url')}`;
}

// ---------------------------------------------------------------- fleetmcp

// `fleetmcp serve` on a port chosen first (the audience must name it before
// the server starts), with no MCP_AUTH_TOKENS: OAuth alone.
async function startFleet(issuers, extraEnv = {}) {
  for (let attempt = 1; ; ++attempt) {
    const port = await freePort();
    const audience = `http://127.0.0.1:${port}/mcp`;
    const env = { ...process.env };
    delete env.MCP_AUTH_TOKENS;
    Object.assign(env, { DATABASE_URL, MCP_OAUTH_ISSUERS: issuers.join(','), MCP_OAUTH_AUDIENCE: audience, ...extraEnv });
    try {
      const fleet = await serve(BIN, { env, port });
      return Object.assign(fleet, { url: audience, origin: `http://127.0.0.1:${port}` });
    } catch (err) {
      // Another process took the port between freePort() and the bind: once more.
      if (attempt < 3 && /address already in use|bind/i.test(err.message)) continue;
      throw err;
    }
  }
}

// The audit records (parsed) once one matching `pred` has arrived: the line is
// written before the reply, but reaches us through a pipe.
async function auditRecord(fleet, pred) {
  for (let i = 0; i < 100; ++i) {
    const found = fleet.audit.map((line) => JSON.parse(line)).find(pred);
    if (found) return found;
    await sleep(20);
  }
  assert.fail(`no such audit line in:\n${fleet.audit.join('\n')}`);
}

// RFC 9110 auth-params of a Bearer challenge, unquoted.
function challengeParams(header) {
  assert.match(header ?? '', /^Bearer /, `WWW-Authenticate: ${header}`);
  const params = {};
  for (const [, name, quoted, token] of header.slice(7).matchAll(/([\w-]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g))
    params[name] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : token;
  return params;
}

// ---------------------------------------------------------------- the tests

let as, strangerAs, fake, fleet;
const fakeKey = rsaKey('fake-rsa-1');
const rotatedKey = rsaKey('fake-rsa-2'); // served only once the rotation test publishes it
const ecKey = { kid: 'fake-ec-1', alg: 'ES256', ...generateKeyPairSync('ec', { namedCurve: 'P-256' }) };
const edKey = { kid: 'fake-ed-1', alg: 'EdDSA', ...generateKeyPairSync('ed25519') };

before(async () => {
  const audience = () => fleet?.url;
  as = await startAuthorizationServer(audience);
  // An authorization server fleetmcp does not trust, issuing for fleetmcp's audience all the same.
  strangerAs = await startAuthorizationServer(audience);
  fake = await startFakeIssuer([fakeKey, ecKey, edKey]);
  fleet = await startFleet([as.origin, fake.origin]);
  // fleetmcp fetches every issuer's keys when it starts.
  for (let i = 0; i < 250 && !fake.jwksFetches.length; ++i) await sleep(20);
  assert.equal(fake.jwksFetches.length, 1, 'fleetmcp fetched the fake issuer\'s JWKS at start');
});

after(async () => {
  await fleet?.stop();
  for (const s of [as, strangerAs, fake]) await closeServer(s?.server);
});

// A token from the fake issuer: valid unless `claims` or `options` say otherwise.
function fakeToken(claims = {}, { key = fakeKey, header = {}, secret } = {}) {
  const t = now();
  return jws(
    { alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header },
    { iss: fake.origin, aud: fleet.url, sub: 'bea', scope: SCOPE, iat: t, exp: t + 300, jti: randomUUID(), ...claims },
    { key, secret },
  );
}

const callWith = (token) => post(fleet.url, TOOL_CALL, { Authorization: `Bearer ${token}` });

async function assertAccepted(token) {
  const res = await callWith(token);
  assert.equal(res.status, 200, `${res.status} ${res.headers.get('www-authenticate')}`);
  assert.notEqual(res.json?.result?.isError, true, JSON.stringify(res.json));
  assert.deepEqual(res.json.result.structuredContent.rows, [{ '?column?': 1 }]);
  return res;
}

// A refused token: the status, the challenge's error and its description.
async function assertRefused(token, { status = 401, error = 'invalid_token', description }) {
  const res = await callWith(token);
  assert.equal(res.status, status, `status; WWW-Authenticate: ${res.headers.get('www-authenticate')}`);
  const params = challengeParams(res.headers.get('www-authenticate'));
  assert.equal(params.error, error, res.headers.get('www-authenticate'));
  assert.match(params.error_description ?? '', description);
  assert.equal(params.resource_metadata, `${fleet.origin}/.well-known/oauth-protected-resource/mcp`);
  return params;
}

describe('discovery (RFC 9728)', () => {
  for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
    it(`GET ${path}: the resource, its authorization servers and scope`, async () => {
      const res = await fetch(`${fleet.origin}${path}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(await res.json(), {
        resource: fleet.url,
        authorization_servers: [as.origin, fake.origin],
        scopes_supported: [SCOPE],
        bearer_methods_supported: ['header'],
        resource_name: 'fleetmcp',
      });
    });
  }

  it('/readyz from loopback says the issuers\' keys are in hand', async () => {
    let body;
    for (let i = 0; i < 50 && body?.oauth_keys !== true; ++i) {
      // (node:http, not fetch: fetch adds Sec-Fetch-* headers, which mark a
      // browser, and a browser's request never gets the details.)
      body = await new Promise((resolve, reject) => {
        httpGet(`${fleet.origin}/readyz`, (res) => {
          let text = '';
          res.on('data', (chunk) => { text += chunk; });
          res.on('end', () => resolve(JSON.parse(text)));
        }).on('error', reject);
      });
      if (body.oauth_keys !== true) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(body.oauth_keys, true, JSON.stringify(body));
  });

  it('POST /mcp without a token: 401 naming resource_metadata and scope', async () => {
    const res = await post(fleet.url, TOOL_CALL);
    assert.equal(res.status, 401);
    const www = res.headers.get('www-authenticate');
    const params = challengeParams(www);
    assert.equal(params.resource_metadata, `${fleet.origin}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(params.scope, SCOPE);
    assert.equal(params.error, undefined, 'no error code without a token (RFC 6750 3.1)');
    // The SDK's own parser reads the same.
    const sdk = extractWWWAuthenticateParams(new Response(null, { status: 401, headers: { 'WWW-Authenticate': www } }));
    assert.equal(String(sdk.resourceMetadataUrl), params.resource_metadata);
    assert.equal(sdk.scope, SCOPE);
  });

  it('POST /mcp with a token that is not a JWT: 401 invalid_token', async () => {
    await assertRefused('not-a-jwt', { description: /three dot-separated parts/ });
  });
});

describe('SDK 1.x OAuth client against oidc-provider (authorization code + PKCE)', () => {
  const oauth = new HeadlessOAuthProvider();
  let client;
  after(async () => { await client?.close(); });

  it('connect() starts the authorization and fails with UnauthorizedError', async () => {
    const first = new Client({ name: 'e2e-oauth', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(fleet.url), { authProvider: oauth });
    await assert.rejects(first.connect(transport), UnauthorizedError);
    assert.ok(oauth.client?.client_id, 'registered dynamically');
    assert.equal(oauth.authorizationUrls.length, 1);
    const url = oauth.authorizationUrls[0];
    assert.equal(url.origin, as.origin);
    assert.equal(url.searchParams.get('resource'), fleet.url);
    assert.equal(url.searchParams.get('scope'), SCOPE);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(oauth.code, 'the headless login brought a code back');
    await transport.finishAuth(oauth.code);
    const { access_token: token } = oauth.tokens();
    const claims = claimsOf(token);
    assert.equal(claims.iss, as.origin);
    assert.equal(claims.aud, fleet.url);
    assert.equal(claims.sub, 'ana');
    assert.deepEqual(claims.groups, ['dispatch']);
    assert.equal(claims.scope, SCOPE);
    await first.close();
  });

  it('with the token: connect, list the tools and run a query', async () => {
    client = new Client({ name: 'e2e-oauth', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(fleet.url), { authProvider: oauth }));
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'query'), JSON.stringify(tools.map((t) => t.name)));
    const out = await callOk(client, 'query', { sql: 'SELECT 1 AS one' });
    assert.deepEqual(out.rows, [{ one: 1 }]);
  });

  it('the audit line names ana and the token\'s jti', async () => {
    const { jti } = claimsOf(oauth.tokens().access_token);
    const record = await auditRecord(fleet, (r) => r.tool === 'query' && r.sql === 'SELECT 1 AS one');
    assert.equal(record.caller, 'ana');
    assert.equal(record.token_id, jti);
    assert.equal(record.outcome, 'ok');
    assert.ok(!fleet.audit.some((line) => line.includes(oauth.tokens().access_token)), 'no token in the audit log');
  });
});

describe('client credentials (oidc-provider)', () => {
  it('a client-credentials token calls a tool over raw HTTP', async () => {
    const token = await clientCredentialsToken(as.origin, fleet.url);
    const claims = claimsOf(token);
    // oidc-provider follows RFC 9068: a token no user took part in has the
    // client's id as its sub, so the default MCP_OAUTH_USER_CLAIM=sub names the
    // client as the caller, and the test keeps that default.
    assert.equal(claims.sub, CC_CLIENT.id);
    assert.equal(claims.aud, fleet.url);
    await assertAccepted(token);
    const record = await auditRecord(fleet, (r) => r.token_id === claims.jti);
    assert.equal(record.caller, CC_CLIENT.id);
    assert.equal(record.tool, 'query');
  });
});

describe('refusals', () => {
  it('a token for another resource: 401, not meant for this server', async () => {
    const token = await clientCredentialsToken(as.origin, OTHER_RESOURCE);
    assert.equal(claimsOf(token).aud, OTHER_RESOURCE);
    await assertRefused(token, { description: /not meant for this server \(aud\)/ });
  });

  it('a token from an issuer not in MCP_OAUTH_ISSUERS: 401, issuer not accepted', async () => {
    const token = await clientCredentialsToken(strangerAs.origin, fleet.url);
    assert.equal(claimsOf(token).aud, fleet.url);
    await assertRefused(token, { description: /issuer is not one this server accepts/ });
  });

  it('the fake issuer\'s well-formed RS256, ES256 and EdDSA tokens are accepted', async () => {
    for (const key of [fakeKey, ecKey, edKey]) await assertAccepted(fakeToken({}, { key }));
  });

  it('expired (beyond the leeway): 401', async () => {
    await assertRefused(fakeToken({ iat: now() - 600, exp: now() - 120 }), { description: /has expired/ });
  });

  it('not yet valid (nbf): 401', async () => {
    await assertRefused(fakeToken({ nbf: now() + 600 }), { description: /not valid yet \(nbf\)/ });
  });

  it('issued in the future (iat): 401', async () => {
    await assertRefused(fakeToken({ iat: now() + 600, exp: now() + 900 }), { description: /issued in the future/ });
  });

  it('a claims set changed after signing: 401, bad signature', async () => {
    const [header, , signature] = fakeToken().split('.');
    const forged = `${header}.${b64url({ iss: fake.origin, aud: fleet.url, sub: 'root', scope: SCOPE, exp: now() + 300 })}.${signature}`;
    await assertRefused(forged, { description: /signature does not verify/ });
  });

  it('alg none: 401', async () => {
    const token = jws({ alg: 'none', typ: 'at+jwt' }, claimsOf(fakeToken()));
    assert.ok(token.endsWith('.'));
    await assertRefused(token, { description: /alg .none. is not accepted/ });
  });

  it('HS256 signed with the RSA public key as the secret: 401', async () => {
    const pem = fakeKey.publicKey.export({ type: 'spki', format: 'pem' });
    await assertRefused(fakeToken({}, { header: { alg: 'HS256' }, secret: pem }), { description: /alg .HS256. is not accepted/ });
  });

  it('without the fleet:read scope: 403 insufficient_scope', async () => {
    const params = await assertRefused(fakeToken({ scope: 'openid profile' }),
      { status: 403, error: 'insufficient_scope', description: /lacks the scope fleet:read/ });
    assert.equal(params.scope, SCOPE);
  });

  it('refusals are audited without a caller', async () => {
    const record = await auditRecord(fleet, (r) => r.audit === 'unauthorized' && /alg .none./.test(r.reason ?? ''));
    assert.equal(record.caller, null);
  });
});

describe('key rotation at the issuer', () => {
  it('an unknown kid is refused; the new key is fetched at most once per 30 s, then accepted', async () => {
    const token = fakeToken({}, { key: rotatedKey });
    await assertRefused(token, { description: /no key has kid .fake-rsa-2./ });
    // Published now: within 30 s of fleetmcp's last fetch, it is not fetched again.
    fake.keys = [fakeKey, ecKey, edKey, rotatedKey];
    const fetches = fake.jwksFetches.length;
    const last = fake.jwksFetches.at(-1);
    // (fleetmcp fetched at start, seconds ago: the window is still open.)
    assert.ok(Date.now() - last < 25000, `the last fetch was ${Date.now() - last} ms ago`);
    await assertRefused(token, { description: /no key has kid .fake-rsa-2./ });
    assert.equal(fake.jwksFetches.length, fetches, 'no fetch within 30 s of the last');
    await sleep(Math.max(0, last + 30000 + 500 - Date.now()));
    await assertAccepted(token);
    assert.equal(fake.jwksFetches.length, fetches + 1, 'one fetch for the unknown kid');
    // The old key still serves, and a known kid needs no fetch.
    await assertAccepted(fakeToken());
    await assertAccepted(token);
    assert.equal(fake.jwksFetches.length, fetches + 1);
  });
});
