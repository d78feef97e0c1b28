// The demo's suggested questions, written as a model first writes them (dates
// relative to today), through a real client against a freshly generated demo
// fleet (scale 0.01, its own database in the test cluster): each has an answer,
// and an empty date-filtered answer names the period the data covers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startServer, bearer, DATABASE_URL } from './helpers.mjs';

const ADMIN_URL = process.env.FLEETMCP_TEST_ADMIN_URL;
const PSQL = `${process.env.FLEETMCP_TEST_PGBIN ?? '/usr/lib/postgresql/15/bin'}/psql`;
const DEMO_SQL = fileURLToPath(new URL('../../data/fleet_demo.sql', import.meta.url));
// Through PgBouncer only the fixture's database is reachable: this file needs
// the cluster itself.
const direct = ADMIN_URL && !process.env.FLEETMCP_TEST_POOLER;

function inDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

function psql(url, args) {
  return execFileSync(PSQL, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, ...args], { encoding: 'utf8' });
}

describe('the demo fleet through a real client', { skip: !direct && 'needs the cluster directly' }, () => {
  const name = `demo_e2e_${process.pid}`;
  let server, client;
  before(async () => {
    psql(ADMIN_URL, ['-c', `CREATE DATABASE ${name}`]);
    psql(inDatabase(ADMIN_URL, name), ['-v', 'scale=0.01', '-f', DEMO_SQL]);
    // Read-only grants for the test's role (the runbook's script does more).
    psql(inDatabase(ADMIN_URL, name), ['-c', `
      GRANT USAGE ON SCHEMA tracksolid, reporting, tickets, fuel TO analytics_ro;
      GRANT SELECT ON ALL TABLES IN SCHEMA tracksolid, reporting, tickets, fuel TO analytics_ro;
      GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reporting, fuel TO analytics_ro;`]);
    server = await startServer({ DATABASE_URL: inDatabase(DATABASE_URL, name), MCP_TIMEZONE: 'Africa/Nairobi' });
    client = new Client({ name: 'e2e-demo', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url), bearer(server.token)));
  });
  after(async () => {
    await client?.close();
    await server?.stop();
    psql(ADMIN_URL, ['-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
  });

  const rows = async (sql) => {
    const r = await client.callTool({ name: 'query', arguments: { sql } });
    assert.equal(r.isError, false, r.content?.[0]?.text);
    return r;
  };

  it('the instructions say the sessions\' zone and what period each schema covers', () => {
    const text = client.getInstructions();
    assert.match(text, /Sessions run in time zone Africa\/Nairobi/);
    assert.match(text, /tracksolid: \d{4}-\d\d-\d\d .* to \d{4}-\d\d-\d\d/);
  });

  it('which cost centres drove the most kilometres last week', async () => {
    const r = await rows(`SELECT d.cost_centre, round(sum(s.km)::numeric, 1) AS km
                          FROM reporting.v_daily_summary s JOIN tracksolid.devices d USING (imei)
                          WHERE s.day >= current_date - 7 GROUP BY 1 ORDER BY 2 DESC`);
    assert.ok(r.structuredContent.row_count > 0, r.content[0].text);
    assert.ok(r.structuredContent.rows.every((row) => Number(row.km) > 0), r.content[0].text);
  });

  it('which open incidents have breached their SLA, by region', async () => {
    const r = await rows(`SELECT region, count(*) AS breached FROM tickets.inc_open_sla
                          WHERE due_at < now() GROUP BY region ORDER BY 2 DESC`);
    assert.ok(r.structuredContent.row_count > 0, r.content[0].text);
  });

  it('which vehicles used the most fuel per 100 km over the last four weeks', async () => {
    const r = await rows(`SELECT * FROM fuel.fn_fuel_efficiency(current_date - 28, current_date)
                          ORDER BY litres_per_100km DESC LIMIT 10`);
    assert.ok(r.structuredContent.row_count > 0, r.content[0].text);
    for (const row of r.structuredContent.rows)
      if (row.km > 0) assert.ok(Math.abs(row.litres_per_100km - (100 * row.litres) / row.km) < 0.1, JSON.stringify(row));
  });

  it('an empty date-filtered answer names the period the data covers', async () => {
    const r = await rows(`SELECT imei, count(*) FROM tracksolid.positions
                          WHERE ts >= current_date + 30 GROUP BY imei`);
    assert.equal(r.structuredContent.row_count, 0);
    assert.match(r.content[0].text, /the data read covers tracksolid\.positions\.ts from \d{4}-.* to \d{4}-/);
  });
});
