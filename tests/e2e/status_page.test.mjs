// /status in a real browser (Debian's chromium, headless, driven by
// puppeteer-core): the operator signs in with Basic credentials as a browser
// asks for them, on a phone-sized screen, while an analyst's slow query runs.
// The screenshot is kept as a test artifact.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { startServer } from './helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
const artifacts = process.env.FLEETMCP_ARTIFACTS_DIR ?? join(here, 'artifacts');
const SLOW_SQL = 'SELECT count(*) AS n FROM generate_series(1, 30000) a, generate_series(1, 30000) b';

describe('/status in headless Chromium', {
  skip: (process.env.FLEETMCP_TEST_POOLER && 'runs once, against the cluster directly') ||
    (!existsSync(chromium) && `no browser at ${chromium} (apt-get install chromium)`),
}, () => {
  const operator = randomBytes(12).toString('hex');
  let server, browser, slow;
  const abort = new AbortController();

  before(async () => {
    server = await startServer({ MCP_OPERATOR_TOKENS: `ops:${operator}` });
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    // An analyst's query that runs until the test ends it (by leaving).
    slow = fetch(server.url, {
      method: 'POST',
      signal: abort.signal,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${server.token}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'query', arguments: { sql: SLOW_SQL } } }),
    }).catch(() => null);
  });

  after(async () => {
    abort.abort();
    await slow;
    await browser?.close();
    await server?.stop();
  });

  it('shows the running query to the operator, fits a phone and loads nothing else', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 390, height: 844, isMobile: true, deviceScaleFactor: 2 });
    const origin = new URL(server.url).origin;
    const elsewhere = [];
    page.on('request', (r) => { if (!r.url().startsWith(origin)) elsewhere.push(r.url()); });

    // The browser answers the Basic challenge with what it is given: a wrong
    // token gets no page, the operator's does.
    await page.authenticate({ username: 'ops', password: 'not-the-token' });
    assert.equal((await page.goto(`${origin}/status`)).status(), 401);
    await page.authenticate({ username: 'ops', password: operator });
    let text = '';
    for (let i = 0; i < 50 && !text.includes('generate_series(1, 30000)'); i++) {
      const res = await page.goto(`${origin}/status`);
      assert.equal(res.status(), 200);
      text = await page.evaluate(() => document.body.innerText);
      if (!text.includes('generate_series(1, 30000)')) await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(text, /generate_series\(1, 30000\)/, text);

    // The running call's row: analyst, tool, elapsed, rows so far.
    const row = await page.evaluate(() => {
      const table = document.querySelector('#running + .scroll table');
      const cells = table ? [...table.rows[1].cells].map((c) => c.innerText) : [];
      return cells;
    });
    assert.equal(row[0], 'e2e');
    assert.equal(row[1], 'query');
    assert.match(row[2], /^\d+(\.\d)? (ms|s)$/);
    assert.match(row[3], /^\d+$/);
    assert.match(row[4], /^[0-9a-f]{16}$/);

    for (const heading of ['Running now', 'Pool', 'Heaviest query shapes', 'Analysts', 'Guard rejections', 'Role self-audit'])
      assert.ok(text.includes(heading), heading);

    // Readable on a phone: the page itself never scrolls sideways (wide
    // tables scroll inside their own box).
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: window.innerWidth }));
    assert.ok(widths.page <= widths.screen, JSON.stringify(widths));
    assert.deepEqual(elsewhere, []);

    mkdirSync(artifacts, { recursive: true });
    const file = join(artifacts, 'status-page.png');
    await page.screenshot({ path: file, fullPage: true });
    assert.ok(existsSync(file));
    console.log(`# screenshot: ${file}`);
  });

  it('refreshes itself', async () => {
    const page = await browser.newPage();
    await page.authenticate({ username: 'ops', password: operator });
    await page.goto(`${new URL(server.url).origin}/status`);
    const refresh = await page.$eval('meta[http-equiv=refresh]', (m) => Number(m.content));
    assert.ok(refresh > 0 && refresh <= 10, String(refresh));
    const reloaded = await page.waitForNavigation({ timeout: (refresh + 5) * 1000 });
    assert.equal(reloaded.status(), 200);
  });
});
