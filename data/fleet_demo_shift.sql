-- fleet_demo_shift.sql: moves a fleet made by data/fleet_demo.sql forward in time,
-- so that its last local day (Africa/Nairobi) is last_day: yesterday there unless
-- given (-v last_day=YYYY-MM-DD). `fleetmcp demo` runs it at every start, so the
-- questions it suggests ("last week", "this month", "open incidents past their
-- SLA") have answers however old the cached copy is.
--
--   psql -v ON_ERROR_STOP=1 -d <database> -f data/fleet_demo_shift.sql
--
-- Run it as a superuser. Every time and date column moves by the same whole
-- number of local days, in one transaction, so the data keeps its shape: open
-- incidents stay as old relative to now as they were relative to the end of
-- the data, SLA states and acknowledgements still agree with the times, and
-- derived text (receipt numbers, the incidents' raw records) follows. The days
-- are exactly the gap, so the Sunday rest days land on other weekdays unless
-- the gap is a multiple of 7. A copy that is current, or newer, is left alone.
\set ON_ERROR_STOP on
\set QUIET on
SET client_min_messages = warning;
\if :{?last_day}
\else
  SELECT ((now() AT TIME ZONE 'Africa/Nairobi')::date - 1)::text AS last_day \gset
\endif

-- The nightly backlog snapshot has one row per region and local day of the data.
SELECT max(day) AS data_last_day, :'last_day'::date - max(day) AS shift_days,
       :'last_day'::date - max(day) > 0 AS shift_needed
FROM tickets.inc_daily_snapshot \gset
\if :shift_needed
\else
  \quit
\endif

\echo 'fleet_demo: the data ends on' :data_last_day '- moving it forward' :shift_days 'days to end on' :last_day
BEGIN;
SET LOCAL TimeZone = 'Africa/Nairobi';   -- whole local days, whatever the server's zone
SET LOCAL work_mem = '256MB';
SET LOCAL maintenance_work_mem = '512MB';
SET LOCAL synchronous_commit = off;
SET LOCAL jit = off;
SET LOCAL fleet_demo.shift = :'shift_days';
CREATE TEMP TABLE shift ON COMMIT DROP AS
SELECT current_setting('fleet_demo.shift')::int AS days,
       current_setting('fleet_demo.shift')::int * interval '1 day' AS by;

\echo 'fleet_demo: shifting positions'
-- (imei, ts) is unique, and a row moved onto a later one not yet moved would
-- collide: the index is rebuilt after the update instead.
DROP INDEX tracksolid.positions_imei_ts;
UPDATE tracksolid.positions SET ts = ts + (SELECT by FROM shift);
CREATE UNIQUE INDEX positions_imei_ts ON tracksolid.positions (imei, ts);

\echo 'fleet_demo: shifting events, fuel and tickets'
UPDATE tracksolid.devices SET installed_at = installed_at + (SELECT by FROM shift);
UPDATE tracksolid.events SET ts = ts + (SELECT by FROM shift);
UPDATE reporting.refresh_log SET refreshed_at = refreshed_at + (SELECT by FROM shift);
UPDATE fuel.records
SET filled_at = filled_at + (SELECT by FROM shift),
    receipt_no = 'RC' || to_char(filled_at + (SELECT by FROM shift), 'YYMMDD') || substr(receipt_no, 9);
UPDATE fuel.ingest_state SET last_run = last_run + (SELECT by FROM shift);
UPDATE tickets.inc
SET opened_at = opened_at + (SELECT by FROM shift),
    closed_at = closed_at + (SELECT by FROM shift),
    raw = regexp_replace(regexp_replace(raw,
            '^opened_at=.*$', 'opened_at=' || to_char(opened_at + (SELECT by FROM shift), 'YYYY-MM-DD HH24:MI:SS'), 'n'),
            '^closed_at=.*$', 'closed_at=' || coalesce(to_char(closed_at + (SELECT by FROM shift), 'YYYY-MM-DD HH24:MI:SS'), ''), 'n');
UPDATE tickets.closure_events SET at = at + (SELECT by FROM shift);
UPDATE tickets.change_log SET changed_at = changed_at + (SELECT by FROM shift);
UPDATE tickets.users SET created_at = created_at + (SELECT by FROM shift);
UPDATE tickets.crq
SET planned_start = planned_start + (SELECT by FROM shift), planned_end = planned_end + (SELECT by FROM shift),
    actual_start = actual_start + (SELECT by FROM shift), actual_end = actual_end + (SELECT by FROM shift);
-- (day, region) is the key: the same collision as positions'.
ALTER TABLE tickets.inc_daily_snapshot DROP CONSTRAINT inc_daily_snapshot_pkey;
UPDATE tickets.inc_daily_snapshot SET day = day + (SELECT days FROM shift);
ALTER TABLE tickets.inc_daily_snapshot ADD PRIMARY KEY (day, region);

-- The views compute from these tables when read; the materialized one is
-- refreshed here, as fleet_demo.sql does.
\echo 'fleet_demo: refreshing reporting.v_trips'
REFRESH MATERIALIZED VIEW reporting.v_trips;
COMMIT;

\echo 'fleet_demo: vacuum and analyze'
VACUUM ANALYZE tracksolid.positions, tracksolid.events, tracksolid.devices, fuel.records, tickets.inc,
               tickets.closure_events, tickets.change_log, tickets.inc_daily_snapshot, tickets.crq,
               reporting.v_trips;
\echo 'fleet_demo: the data now ends on' :last_day
