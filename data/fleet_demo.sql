-- fleet_demo.sql: a synthetic fleet-telemetry database for fleetmcp demos and tests.
--
--   psql -v ON_ERROR_STOP=1 -v scale=1 -d <empty database> -f data/fleet_demo.sql
--
-- scale 1 (default): 500 vehicles, 1.6 million GPS positions over 30 days,
-- 5,000 incidents, in about 15 s on 2 cores; scale 0.01: 5 vehicles, 14,000
-- positions, 50 incidents. Devices and incidents grow linearly with scale.
-- The 30 days end on last_day, a local date (Africa/Nairobi): yesterday there
-- unless given (-v last_day=2026-05-31), so "last week" has data the day the
-- fleet is generated; data/fleet_demo_shift.sql moves an older copy forward.
-- Everything is generated inside PostgreSQL with generate_series. It is
-- deterministic: pseudo-random values are hashes of row numbers (no random()),
-- so a given scale and last_day always give the same rows.
--
-- Run it as a superuser on an empty database; it runs in one transaction, and a
-- database that already has the schemas is left alone. Like production,
-- tracksolid and reporting belong to the NOLOGIN role tracksolid_owner, tickets
-- and fuel to the user running the script. With PostGIS available, positions and
-- incidents also get a geography(Point) column.
-- Afterwards: psql -v ro_pw=... -f scripts/analytics_ro_role.sql (or
-- scripts/bootstrap_analytics_ro.sh) creates the read-only role fleetmcp uses.
\set ON_ERROR_STOP on
\set QUIET on
\if :{?scale}
\else
  \set scale 1
\endif
\if :{?last_day}
\else
  SELECT ((now() AT TIME ZONE 'Africa/Nairobi')::date - 1)::text AS last_day \gset
\endif
SET client_min_messages = warning;

SELECT EXISTS (SELECT 1 FROM pg_namespace
               WHERE nspname IN ('tracksolid', 'reporting', 'tickets', 'fuel')) AS fleet_demo_loaded \gset
\if :fleet_demo_loaded
  \echo 'fleet_demo: the fleet schemas exist already in this database; nothing to do.'
  \quit
\endif

\echo 'fleet_demo: loading at scale' :scale 'through' :last_day '(one transaction; scale 1 takes under a minute)'
BEGIN;
SET LOCAL work_mem = '256MB';
SET LOCAL maintenance_work_mem = '512MB';
SET LOCAL synchronous_commit = off;
SET LOCAL jit = off;          -- compiling these big expressions costs more than it saves
SET LOCAL fleet_demo.scale = :'scale';
SET LOCAL fleet_demo.last_day = :'last_day';

\echo 'fleet_demo: roles, schemas, extensions'
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tracksolid_owner') THEN
    CREATE ROLE tracksolid_owner NOLOGIN;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgis') THEN
    CREATE EXTENSION IF NOT EXISTS postgis;
  END IF;
END $$;

-- Parameters. The data covers the 30 local days (Africa/Nairobi) through last_day;
-- end_day is the day after, data_end its first instant.
CREATE TEMP TABLE params ON COMMIT DROP AS
SELECT s AS scale,
       greatest(3, round(500 * s))::int   AS devices,
       greatest(20, round(5000 * s))::int AS incidents,
       e - 30 AS first_day,
       30 AS days,
       e AS end_day,
       e::timestamp AT TIME ZONE 'Africa/Nairobi' AS data_end
FROM (SELECT current_setting('fleet_demo.scale')::numeric AS s,
             current_setting('fleet_demo.last_day')::date + 1 AS e) x;
GRANT SELECT ON params TO tracksolid_owner;
DO $$
BEGIN
  IF (SELECT scale FROM params) NOT BETWEEN 0.001 AND 100 THEN
    RAISE EXCEPTION 'fleet_demo: scale must be between 0.001 and 100, got %', (SELECT scale FROM params);
  END IF;
END $$;

-- Deterministic pseudo-randomness: a number in [0,1) from a key and a salt.
CREATE FUNCTION pg_temp.rnd(k bigint, salt int) RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (hashint8extended(k, salt) & 9007199254740991)::float8 / 9007199254740992 $$;
-- One element of an array, chosen by r in [0,1).
CREATE FUNCTION pg_temp.pick(a text[], r float8) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT a[1 + floor(r * cardinality(a))::int] $$;
-- Luhn check digit, so the IMEIs are valid.
CREATE FUNCTION pg_temp.luhn(body text) RETURNS text
  LANGUAGE sql IMMUTABLE
  AS $$
    SELECT ((10 - sum(CASE WHEN (length(body) - pos) % 2 = 0
                           THEN (d * 2) / 10 + (d * 2) % 10 ELSE d END) % 10) % 10)::text
    FROM (SELECT pos, substr(body, pos, 1)::int AS d FROM generate_series(1, length(body)) pos) digits
  $$;

CREATE SCHEMA tracksolid AUTHORIZATION tracksolid_owner;
CREATE SCHEMA reporting AUTHORIZATION tracksolid_owner;
CREATE SCHEMA tickets;
CREATE SCHEMA fuel;
COMMENT ON SCHEMA tracksolid IS 'Raw telemetry ingested from the GPS trackers: devices, positions, alarm events.';
COMMENT ON SCHEMA reporting IS 'Curated analytics layer over tracksolid: daily and monthly views, trips, fn_* functions.';
COMMENT ON SCHEMA tickets IS 'Support incidents (INC), change requests (CRQ) and the ticketing application''s users.';
COMMENT ON SCHEMA fuel IS 'Fuel purchases per vehicle, ingested from fuel-card statements.';

------------------------------------------------------------------------------
-- tracksolid: devices, geofences, positions, events (owned by tracksolid_owner)
------------------------------------------------------------------------------
SET ROLE tracksolid_owner;

CREATE TABLE tracksolid.geofences (
  name       text PRIMARY KEY,
  city       text NOT NULL,
  centre_lat double precision NOT NULL,
  centre_lng double precision NOT NULL,
  radius_km  numeric(6,1) NOT NULL
);
COMMENT ON TABLE tracksolid.geofences IS 'Circular depot geofences; leaving one raises a geofence_exit event.';
INSERT INTO tracksolid.geofences VALUES
  ('NBO depot zone', 'Nairobi', -1.3105, 36.8510, 60),
  ('MSA depot zone', 'Mombasa', -4.0250, 39.6280, 60),
  ('KSM depot zone', 'Kisumu',  -0.0960, 34.7620, 60),
  ('NKR depot zone', 'Nakuru',  -0.2900, 36.0700, 60),
  ('ELD depot zone', 'Eldoret',  0.5200, 35.2700, 60),
  ('THK depot zone', 'Thika',   -1.0390, 37.0830, 60);

CREATE TABLE tracksolid.devices (
  imei            text PRIMARY KEY CHECK (imei ~ '^[0-9]{15}$'),
  name            text NOT NULL,
  plate           text NOT NULL UNIQUE,
  vehicle_type    text NOT NULL,
  vehicle_model   text NOT NULL,
  model           text NOT NULL,
  cost_centre     text NOT NULL,
  depot           text NOT NULL REFERENCES tracksolid.geofences,
  speed_limit_kmh smallint NOT NULL,
  installed_at    timestamptz NOT NULL,
  active          boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE tracksolid.devices IS 'One GPS tracker per vehicle. imei identifies the tracker everywhere (positions, events, fuel, tickets).';
COMMENT ON COLUMN tracksolid.devices.imei IS '15-digit tracker IMEI (Luhn-valid); the key used by every other table';
COMMENT ON COLUMN tracksolid.devices.name IS 'fleet name: depot code, vehicle type and fleet number';
COMMENT ON COLUMN tracksolid.devices.plate IS 'vehicle registration plate';
COMMENT ON COLUMN tracksolid.devices.vehicle_type IS 'Truck, Prime mover, Van, Pickup, Saloon, Motorbike or Bus';
COMMENT ON COLUMN tracksolid.devices.vehicle_model IS 'make and model of the vehicle';
COMMENT ON COLUMN tracksolid.devices.model IS 'tracker hardware model';
COMMENT ON COLUMN tracksolid.devices.cost_centre IS 'business unit the vehicle is charged to';
COMMENT ON COLUMN tracksolid.devices.depot IS 'home depot geofence (tracksolid.geofences.name)';
COMMENT ON COLUMN tracksolid.devices.speed_limit_kmh IS 'company speed limit; faster raises an overspeed event';
COMMENT ON COLUMN tracksolid.devices.active IS 'false: decommissioned; it stopped reporting during the period';

CREATE TABLE tracksolid.positions (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  imei       text NOT NULL,          -- references devices: the key is added after the load
  ts         timestamptz NOT NULL,
  lat        double precision NOT NULL,
  lng        double precision NOT NULL,
  speed      real NOT NULL,
  heading    smallint NOT NULL,
  ignition   boolean NOT NULL,
  mileage    double precision NOT NULL,
  satellites smallint NOT NULL
);
COMMENT ON TABLE tracksolid.positions IS 'GPS fixes: every 2 minutes while the ignition is on, hourly heartbeats while parked. Times are timestamptz; local time is Africa/Nairobi.';
COMMENT ON COLUMN tracksolid.positions.ts IS 'time of the fix; (imei, ts) is unique and indexed';
COMMENT ON COLUMN tracksolid.positions.lat IS 'latitude, WGS84 degrees';
COMMENT ON COLUMN tracksolid.positions.lng IS 'longitude, WGS84 degrees';
COMMENT ON COLUMN tracksolid.positions.speed IS 'speed over ground, km/h';
COMMENT ON COLUMN tracksolid.positions.heading IS 'course, degrees clockwise from north';
COMMENT ON COLUMN tracksolid.positions.ignition IS 'true while the engine runs';
COMMENT ON COLUMN tracksolid.positions.mileage IS 'odometer reading, km';

CREATE TABLE tracksolid.events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  imei         text NOT NULL,
  ts           timestamptz NOT NULL,
  type         text NOT NULL,
  severity     text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  lat          double precision,
  lng          double precision,
  speed        real,
  details      jsonb NOT NULL DEFAULT '{}',
  acknowledged boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE tracksolid.events IS 'Alarms raised by the trackers and the platform: overspeed, harsh_braking, harsh_acceleration, geofence_exit, power_cut, sos.';
COMMENT ON COLUMN tracksolid.events.type IS 'overspeed, harsh_braking, harsh_acceleration, geofence_exit, power_cut or sos';
COMMENT ON COLUMN tracksolid.events.details IS 'type-specific fields, e.g. speed_kmh/limit_kmh for overspeed, decel_g for harsh_braking';

-- PostGIS (when installed): a geography column computed from lat/lng.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis') THEN
    ALTER TABLE tracksolid.positions ADD COLUMN geog geography(Point, 4326)
      GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography) STORED;
    COMMENT ON COLUMN tracksolid.positions.geog IS 'the fix as a PostGIS geography point (from lng/lat)';
  END IF;
END $$;

\echo 'fleet_demo: devices'
-- Per-type behaviour: base speed, trips per day, trip length and spacing (minutes),
-- fuel use (l/100 km), days between fills, speed limit.
CREATE TEMP TABLE vtypes ON COMMIT DROP AS
SELECT * FROM (VALUES
  ('Truck',       38, 2, 4,  40, 120, 160, 28.0, 3,  80, ARRAY['Isuzu FRR', 'Isuzu NQR', 'Mitsubishi Fuso FI'], 'diesel'),
  ('Prime mover', 55, 1, 2, 180, 300, 330, 38.0, 2,  80, ARRAY['Scania R460', 'Mercedes-Benz Actros', 'Volvo FH'], 'diesel'),
  ('Van',         35, 3, 5,  20,  80, 120, 13.0, 4, 100, ARRAY['Toyota HiAce', 'Nissan NV350'], 'diesel'),
  ('Pickup',      42, 2, 4,  30, 100, 140, 11.0, 4, 100, ARRAY['Toyota Hilux', 'Isuzu D-Max', 'Ford Ranger'], 'diesel'),
  ('Saloon',      40, 2, 4,  15,  60, 150,  8.0, 5, 110, ARRAY['Toyota Corolla', 'Toyota Premio', 'Mazda Demio'], 'petrol'),
  ('Motorbike',   28, 4, 6,  10,  40,  90,  3.0, 3,  70, ARRAY['TVS HLX 125', 'Bajaj Boxer 150'], 'petrol'),
  ('Bus',         35, 4, 6,  40,  80, 110, 22.0, 2,  80, ARRAY['Isuzu NQR 33-seater', 'Toyota Coaster'], 'diesel')
) v(vtype, base_speed, trips_min, trips_max, dur_min, dur_max, slot, l_per_100km, fill_days, speed_limit, makes, fuel_type);

-- Depots: geofence, code, and the bearings a day's loop may head out on (Mombasa
-- inland, Kisumu away from the lake, Nakuru north of its lake).
CREATE TEMP TABLE depots ON COMMIT DROP AS
SELECT * FROM (VALUES
  ('Nairobi', 'NBO', 'NBO depot zone', 0.00, 0.42,   0, 360),
  ('Mombasa', 'MSA', 'MSA depot zone', 0.42, 0.62, 280, 305),
  ('Kisumu',  'KSM', 'KSM depot zone', 0.62, 0.72,  10, 100),
  ('Nakuru',  'NKR', 'NKR depot zone', 0.72, 0.82, 300, 420),
  ('Eldoret', 'ELD', 'ELD depot zone', 0.82, 0.91,   0, 360),
  ('Thika',   'THK', 'THK depot zone', 0.91, 1.00,   0, 360)
) d(city, code, geofence, share_from, share_to, bearing_min, bearing_max);

-- dev: one row per vehicle with its hidden driving parameters.
CREATE TEMP TABLE dev ON COMMIT DROP AS
WITH base AS (
  SELECT i,
         pg_temp.rnd(i, 1) AS r_city, pg_temp.rnd(i, 2) AS r_type, pg_temp.rnd(i, 3) AS r_cc,
         pg_temp.rnd(i, 4) AS r_make, pg_temp.rnd(i, 5) AS r_model, pg_temp.rnd(i, 6) AS r_inst,
         pg_temp.rnd(i, 7) AS r_active, pg_temp.rnd(i, 8) AS r_style, pg_temp.rnd(i, 9) AS r_odo
  FROM generate_series(1, (SELECT devices FROM params)) i
), typed AS (
  SELECT b.*,
         pg_temp.pick(ARRAY['JM-VL03', 'JM-VL03', 'JM-VL01', 'GT06N', 'JC400P', 'X3'], b.r_model) AS model,
         CASE WHEN r_type < 0.30 THEN 'Truck'  WHEN r_type < 0.38 THEN 'Prime mover'
              WHEN r_type < 0.60 THEN 'Van'    WHEN r_type < 0.78 THEN 'Pickup'
              WHEN r_type < 0.88 THEN 'Saloon' WHEN r_type < 0.95 THEN 'Motorbike'
              ELSE 'Bus' END AS vtype
  FROM base b
), numbered AS (
  -- IMEI: the model's type allocation code, a 6-digit serial, the Luhn digit
  SELECT t.*, CASE t.model WHEN 'JM-VL03' THEN '86289805' WHEN 'JM-VL01' THEN '86817904' WHEN 'GT06N' THEN '35820907'
                           WHEN 'JC400P' THEN '86460503' ELSE '86973502' END
              || lpad(((t.i * 7919 + 104729) % 1000000)::text, 6, '0') AS imei_body
  FROM typed t
)
SELECT t.i,
       t.imei_body || pg_temp.luhn(t.imei_body) AS imei,
       d.code || ' ' || t.vtype || ' ' || lpad(t.i::text, 3, '0') AS name,
       -- KCx nnnY, unique: a bijective scramble of i over 26 * 997 * 26 plates
       'KC' || chr(65 + (t.i * 48271) % 673972 % 26) || ' '
            || lpad(((t.i * 48271) % 673972 / 26 % 997 + 1)::text, 3, '0')
            || chr(65 + (t.i * 48271) % 673972 / 25922) AS plate,
       t.vtype, pg_temp.pick(v.makes, t.r_make) AS vehicle_model,
       t.model,
       CASE
         WHEN t.vtype = 'Prime mover' THEN 'Long Haul Transit'
         WHEN t.vtype = 'Bus' THEN 'Staff Transport'
         WHEN t.vtype = 'Motorbike' THEN 'Last Mile Delivery'
         WHEN t.vtype = 'Saloon' THEN CASE WHEN t.r_cc < 0.5 THEN 'Executive Pool' ELSE 'Sales & Marketing' END
         WHEN t.vtype = 'Pickup' THEN CASE WHEN t.r_cc < 0.6 THEN 'Field Engineering' ELSE 'Security Patrol' END
         WHEN d.city = 'Nairobi' THEN CASE WHEN t.r_cc < 0.3 THEN 'Cold Chain' ELSE 'Nairobi Distribution' END
         WHEN d.city = 'Mombasa' THEN 'Coast Port Logistics'
         WHEN d.city = 'Kisumu' THEN 'Western Region'
         WHEN d.city = 'Thika' THEN 'Central Manufacturing'
         ELSE 'Rift Valley Agri Supply'
       END AS cost_centre,
       d.geofence AS depot, v.speed_limit,
       (date '2021-01-04' + floor(t.r_inst * 1900)::int + time '08:00'
         + floor(pg_temp.rnd(t.i, 10) * 480) * interval '1 minute') AT TIME ZONE 'Africa/Nairobi' AS installed_at,
       t.r_active > 0.06 AS active,
       -- a decommissioned tracker stops reporting after this day
       CASE WHEN t.r_active > 0.06 THEN 29 ELSE floor(t.r_active / 0.06 * 25)::int END AS last_day,
       g.centre_lat + (pg_temp.rnd(t.i, 11) - 0.5) * 0.06 AS home_lat,
       g.centre_lng + (pg_temp.rnd(t.i, 12) - 0.5) * 0.06 AS home_lng,
       d.bearing_min, d.bearing_max,
       v.base_speed * (0.9 + 0.35 * t.r_style) AS speed,     -- some drivers are heavier-footed
       CASE WHEN t.vtype = 'Motorbike' THEN 2000 + t.r_odo * 40000 ELSE 5000 + t.r_odo * 250000 END AS odo0,
       v.trips_min, v.trips_max, v.dur_min, v.dur_max, v.slot, v.l_per_100km, v.fill_days, v.fuel_type
FROM numbered t
JOIN vtypes v USING (vtype)
JOIN depots d ON t.r_city >= d.share_from AND t.r_city < d.share_to
JOIN tracksolid.geofences g ON g.name = d.geofence;

INSERT INTO tracksolid.devices
SELECT imei, name, plate, vtype, vehicle_model, model, cost_centre, depot, speed_limit, installed_at, active
FROM dev ORDER BY i;

\echo 'fleet_demo: planning trips'
-- A working day is a closed loop out from the depot and back, driven in 1..6
-- trips: the position is a smooth function of the minutes driven so far that day
-- (tau), so speed, heading, odometer and the distance between fixes agree.
CREATE TEMP TABLE dd ON COMMIT DROP AS
SELECT v.i, v.imei, d,
       (p.first_day + d)::timestamp AT TIME ZONE 'Africa/Nairobi' AS day_start,
       CASE WHEN (extract(dow FROM p.first_day + d) = 0 AND v.vtype NOT IN ('Bus', 'Prime mover')
                  AND pg_temp.rnd(v.i * 100 + d, 20) < 0.8)
                 OR pg_temp.rnd(v.i * 100 + d, 21) < 0.05        -- Sundays off; workshop days
            THEN 0
            ELSE v.trips_min + floor(pg_temp.rnd(v.i * 100 + d, 22) * (v.trips_max - v.trips_min + 1))::int
       END AS ntrips,
       (360 + floor(pg_temp.rnd(v.i * 100 + d, 23) * 150))::int AS first_start_min,
       v.speed * (0.9 + 0.2 * pg_temp.rnd(v.i * 100 + d, 24)) AS v,
       -radians(v.bearing_min + (v.bearing_max - v.bearing_min) * pg_temp.rnd(v.i * 100 + d, 25)) AS alpha,
       0.10 + 0.25 * pg_temp.rnd(v.i * 100 + d, 26) AS eps,        -- how lopsided the loop is
       0.40 + 0.25 * pg_temp.rnd(v.i * 100 + d, 27) AS squash,     -- its width / its length
       v.home_lat, v.home_lng, v.slot, v.dur_min, v.dur_max, v.odo0
FROM dev v CROSS JOIN params p CROSS JOIN generate_series(0, p.days - 1) d
WHERE d <= v.last_day;

-- tr: the day's trips, 2-minute multiples; tau0 = minutes already driven when it starts.
CREATE TEMP TABLE tr ON COMMIT DROP AS
SELECT *, (sum(dur) OVER (PARTITION BY i, d ORDER BY k) - dur)::int AS tau0
FROM (
  SELECT dd.i, dd.d, k,
         dd.day_start + (dd.first_start_min + (k - 1) * dd.slot) * interval '1 minute' AS start_ts,
         (2 * floor((dd.dur_min + (dd.dur_max - dd.dur_min) * pg_temp.rnd((dd.i * 100 + dd.d) * 10 + k, 30)) / 2))::int AS dur,
         pg_temp.rnd((dd.i * 100 + dd.d) * 10 + k, 31) < 0.04 AS has_gap,     -- lost signal for a while
         pg_temp.rnd((dd.i * 100 + dd.d) * 10 + k, 32) AS r_gap
  FROM dd CROSS JOIN generate_series(1, dd.ntrips) k
) t;
CREATE INDEX ON tr (i, d);

-- T: minutes driven that day; R: loop size (km) such that its length (numerical
-- integral over 64 points) is v * T; odo: odometer at the start of the day.
ALTER TABLE dd ADD COLUMN t int, ADD COLUMN r float8, ADD COLUMN odo float8;
UPDATE dd SET t = coalesce(x.t, 0)
FROM (SELECT dd.i, dd.d, sum(tr.dur)::int AS t FROM dd LEFT JOIN tr USING (i, d) GROUP BY 1, 2) x
WHERE (dd.i, dd.d) = (x.i, x.d);
UPDATE dd SET r = v * t / 60 / (SELECT 2 * pi() / 64 * sum(sqrt((squash * (cos(q) + 2 * eps * cos(2 * q))) ^ 2 + sin(q) ^ 2))
                                FROM generate_series(0, 63) g, LATERAL (SELECT 2 * pi() * g / 64 AS q) a);
UPDATE dd SET odo = x.odo
FROM (SELECT i, d, odo0 + coalesce(sum(v * t / 60.0) OVER (PARTITION BY i ORDER BY d
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS odo
      FROM dd) x
WHERE (dd.i, dd.d) = (x.i, x.d);
CREATE INDEX ON dd (i, d);

\echo 'fleet_demo: positions (the big one)'
-- fix: when each fix is taken and how many minutes had been driven that day (tau).
CREATE TEMP TABLE fix ON COMMIT DROP AS
-- Driving: a fix every 2 minutes, plus up to 20 s of jitter.
SELECT tr.i, tr.d, j, rj, true AS moving,
       tr.start_ts + (j * 120 + floor(rj * 20)) * interval '1 second' AS ts,
       tr.tau0 + j * 2 + floor(rj * 20) / 60 AS tau
FROM tr
CROSS JOIN LATERAL generate_series(0, tr.dur / 2) j
CROSS JOIN LATERAL (SELECT pg_temp.rnd(((tr.i * 100 + tr.d) * 10 + tr.k) * 1000 + j, 40) AS rj) r
WHERE NOT (tr.has_gap AND tr.dur >= 40     -- 12-24 minutes without signal
           AND j BETWEEN 3 + floor(tr.r_gap * (tr.dur / 2 - 12)) AND 9 + floor(tr.r_gap * (tr.dur / 2 - 12)) + floor(tr.r_gap * 7))
UNION ALL
-- Parked: an hourly heartbeat outside the trips, where the last trip ended.
SELECT dd.i, dd.d, NULL, rj, false, hb.ts, driven.tau
FROM dd
CROSS JOIN LATERAL generate_series(0, 23) h
CROSS JOIN LATERAL (SELECT pg_temp.rnd((dd.i * 100 + dd.d) * 100 + h, 42) AS rj) r
CROSS JOIN LATERAL (SELECT dd.day_start + h * interval '1 hour' + floor(rj * 50) * interval '1 second' AS ts
                    OFFSET 0) hb                           -- (OFFSET 0: computed once per row)
CROSS JOIN LATERAL (SELECT coalesce(sum(least(greatest(extract(epoch FROM hb.ts - tr.start_ts) / 60, 0), tr.dur)), 0) AS tau,
                           coalesce(bool_or(hb.ts BETWEEN tr.start_ts - interval '1 minute'
                                                      AND tr.start_ts + (tr.dur + 1) * interval '1 minute'), false) AS driving
                    FROM tr WHERE tr.i = dd.i AND tr.d = dd.d) driven
WHERE NOT driven.driving;

-- The loop: th = 2*pi*tau/T; offsets x (km, across) and y (km, out from the
-- depot); their derivatives give speed and heading; alpha turns the loop to its bearing.
INSERT INTO tracksolid.positions (imei, ts, lat, lng, speed, heading, ignition, mileage, satellites)
SELECT dd.imei, f.ts,
       round((dd.home_lat + (x * sin(dd.alpha) + y * cos(dd.alpha)) / 110.574) * 1e6) / 1e6,
       round((dd.home_lng + (x * cos(dd.alpha) - y * sin(dd.alpha)) / (111.320 * cos(radians(dd.home_lat)))) * 1e6) / 1e6,
       CASE WHEN NOT f.moving OR f.j = 0 THEN 0
            ELSE round(sqrt(dx ^ 2 + dy ^ 2) * 2 * pi() / dd.t * 60 * (0.95 + 0.1 * f.rj) * 10) / 10 END,
       CASE WHEN NOT f.moving THEN 0
            ELSE (round(degrees(atan2(dx * cos(dd.alpha) - dy * sin(dd.alpha), dx * sin(dd.alpha) + dy * cos(dd.alpha))))::int + 360) % 360 END,
       f.moving,
       round((dd.odo + dd.v * f.tau / 60) * 10) / 10,
       5 + floor(f.rj * 8)
FROM fix f
JOIN dd USING (i, d)
CROSS JOIN LATERAL (SELECT CASE WHEN dd.t > 0 THEN 2 * pi() * f.tau / dd.t ELSE 0 END AS th) a
CROSS JOIN LATERAL (SELECT dd.squash * dd.r * (sin(th) + dd.eps * sin(2 * th)) AS x, dd.r * (1 - cos(th)) AS y,
                           dd.squash * dd.r * (cos(th) + 2 * dd.eps * cos(2 * th)) AS dx, dd.r * sin(th) AS dy) b
ORDER BY dd.imei, f.ts;       -- stored per device: one vehicle's track is contiguous

\echo 'fleet_demo: indexing positions'
CREATE UNIQUE INDEX positions_imei_ts ON tracksolid.positions (imei, ts);
-- Time-range questions over the whole fleet, and the table's period (fleetmcp
-- reads a table's first and last time from an index its time column leads).
CREATE INDEX positions_ts ON tracksolid.positions (ts);
ALTER TABLE tracksolid.positions ADD FOREIGN KEY (imei) REFERENCES tracksolid.devices;
ANALYZE tracksolid.positions;

\echo 'fleet_demo: events'
INSERT INTO tracksolid.events (imei, ts, type, severity, lat, lng, speed, details, acknowledged)
SELECT imei, ts, type, severity, lat, lng, speed, details,
       ts < (SELECT data_end - interval '48 hours' FROM params) AND pg_temp.rnd(extract(epoch FROM ts)::bigint + hashtext(imei || type), 50) < 0.9
FROM (
  -- overspeed: the first fix of each run above the vehicle's limit
  SELECT p.imei, p.ts, 'overspeed' AS type,
         CASE WHEN p.speed > d.speed_limit_kmh + 30 THEN 'high'
              WHEN p.speed > d.speed_limit_kmh + 15 THEN 'medium' ELSE 'low' END AS severity,
         p.lat, p.lng, p.speed,
         jsonb_build_object('speed_kmh', p.speed, 'limit_kmh', d.speed_limit_kmh) AS details
  FROM tracksolid.positions p
  JOIN tracksolid.devices d USING (imei)
  CROSS JOIN LATERAL (SELECT q.speed FROM tracksolid.positions q
                      WHERE q.imei = p.imei AND q.ts < p.ts ORDER BY q.ts DESC LIMIT 1) prev
  WHERE p.speed > d.speed_limit_kmh AND prev.speed <= d.speed_limit_kmh
  UNION ALL
  -- harsh braking, harsh acceleration, SOS: rare, at driving fixes
  SELECT imei, ts, type, severity, lat, lng, speed,
         CASE type
           WHEN 'harsh_braking' THEN jsonb_build_object('decel_g', round((0.35 + 0.4 * pg_temp.rnd(id, 52))::numeric, 2),
                                                        'speed_before_kmh', round((speed + 15 + 20 * pg_temp.rnd(id, 53))::numeric))
           WHEN 'harsh_acceleration' THEN jsonb_build_object('accel_g', round((0.3 + 0.3 * pg_temp.rnd(id, 55))::numeric, 2))
           ELSE jsonb_build_object('button', 'driver panic button') END
  FROM (SELECT p.*, CASE WHEN r < 0.0015 THEN 'harsh_braking' WHEN r < 0.0025 THEN 'harsh_acceleration' ELSE 'sos' END AS type,
               CASE WHEN r < 0.0003 THEN 'high' WHEN r < 0.0015 THEN 'medium' WHEN r < 0.0025 THEN 'low' ELSE 'critical' END AS severity
        FROM tracksolid.positions p
        CROSS JOIN LATERAL (SELECT pg_temp.rnd(p.id, 54) AS r) x
        WHERE p.ignition AND p.speed > 20 AND x.r < 0.00253) rare
  UNION ALL
  -- power_cut: a parked tracker lost external power
  SELECT p.imei, p.ts, 'power_cut', 'high', p.lat, p.lng, 0,
         jsonb_build_object('external_voltage_v', 0.0, 'backup_battery_pct', 40 + floor(60 * pg_temp.rnd(p.id, 58)))
  FROM tracksolid.positions p
  WHERE NOT p.ignition AND pg_temp.rnd(p.id, 59) < 0.002
  UNION ALL
  -- geofence_exit: the first fix of the day outside the depot zone
  (SELECT DISTINCT ON (p.imei, (p.ts AT TIME ZONE 'Africa/Nairobi')::date)
         p.imei, p.ts, 'geofence_exit', 'medium', p.lat, p.lng, p.speed,
         jsonb_build_object('geofence', g.name, 'radius_km', g.radius_km,
                            'distance_km', round((2 * 6371.0088 * asin(sqrt(sin(radians(p.lat - g.centre_lat) / 2) ^ 2
                              + cos(radians(p.lat)) * cos(radians(g.centre_lat)) * sin(radians(p.lng - g.centre_lng) / 2) ^ 2)))::numeric, 1))
  FROM tracksolid.positions p
  JOIN tracksolid.devices d USING (imei)
  JOIN tracksolid.geofences g ON g.name = d.depot
  WHERE p.ignition
    AND 2 * 6371.0088 * asin(sqrt(sin(radians(p.lat - g.centre_lat) / 2) ^ 2
          + cos(radians(p.lat)) * cos(radians(g.centre_lat)) * sin(radians(p.lng - g.centre_lng) / 2) ^ 2)) > g.radius_km
  ORDER BY p.imei, (p.ts AT TIME ZONE 'Africa/Nairobi')::date, p.ts)
) e
ORDER BY ts, imei, type;
CREATE INDEX events_imei_ts ON tracksolid.events (imei, ts);
ALTER TABLE tracksolid.events ADD FOREIGN KEY (imei) REFERENCES tracksolid.devices;
CREATE INDEX events_type_ts ON tracksolid.events (type, ts);

RESET ROLE;

------------------------------------------------------------------------------
-- fuel (owned by the loading superuser)
------------------------------------------------------------------------------
\echo 'fleet_demo: fuel'
CREATE TABLE fuel.records (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  imei        text NOT NULL,
  filled_at   timestamptz NOT NULL,
  fuel_type   text NOT NULL,
  litres      numeric(8,2) NOT NULL,
  unit_price  numeric(8,2) NOT NULL,
  cost        numeric(10,2) NOT NULL,
  odometer_km numeric(10,1),
  station     text NOT NULL,
  receipt_no  text NOT NULL
);
COMMENT ON TABLE fuel.records IS 'Fuel purchases (one row per fill) from fuel-card statements. Amounts in KES.';
COMMENT ON COLUMN fuel.records.imei IS 'vehicle''s tracker (tracksolid.devices.imei); no foreign key: statements arrive unchecked';
COMMENT ON COLUMN fuel.records.litres IS 'litres dispensed';
COMMENT ON COLUMN fuel.records.unit_price IS 'pump price, KES per litre';
COMMENT ON COLUMN fuel.records.cost IS 'amount charged, KES';
COMMENT ON COLUMN fuel.records.odometer_km IS 'odometer typed in at the pump, km';
CREATE TABLE fuel.ingest_state (
  source        text PRIMARY KEY,
  last_run      timestamptz NOT NULL,
  last_id       bigint,
  rows_ingested bigint NOT NULL,
  status        text NOT NULL,
  message       text
);
COMMENT ON TABLE fuel.ingest_state IS 'Bookkeeping of the fuel ingestion jobs: last run and watermark per source.';

-- A fill before the first trip every few days; litres follow the km driven since the last fill.
INSERT INTO fuel.records (imei, filled_at, fuel_type, litres, unit_price, cost, odometer_km, station, receipt_no)
SELECT imei, filled_at, fuel_type, litres, unit_price, round(litres * unit_price, 2), odometer_km, station,
       'RC' || to_char(filled_at AT TIME ZONE 'Africa/Nairobi', 'YYMMDD') || lpad((hashtext(imei || d) & 65535)::text, 5, '0')
FROM (
  SELECT f.*,
         round((greatest(coalesce(f.odo - lag(f.odo) OVER (PARTITION BY f.imei ORDER BY f.d), f.daily_km * f.fill_days), 20)
                * f.l_per_100km / 100 * (0.95 + 0.1 * pg_temp.rnd(f.i * 100 + f.d, 60)))::numeric, 2) AS litres,
         -- the pump price changes on the period's 14th day
         CASE WHEN f.fuel_type = 'diesel'
              THEN CASE WHEN f.d < 13 THEN 171.40 ELSE 168.90 END
              ELSE CASE WHEN f.d < 13 THEN 186.30 ELSE 184.10 END END AS unit_price,
         round(f.odo::numeric, 1) AS odometer_km
  FROM (
    SELECT dd.i, dd.d, dd.imei, dv.fuel_type, dv.l_per_100km, dv.fill_days, dd.odo, dd.v * dd.t / 60.0 AS daily_km,
           dd.day_start + (dd.first_start_min - 10 - floor(pg_temp.rnd(dd.i * 100 + dd.d, 61) * 30)) * interval '1 minute' AS filled_at,
           pg_temp.pick(CASE dp.city
             WHEN 'Nairobi' THEN ARRAY['Shell Mombasa Road', 'TotalEnergies Industrial Area', 'Rubis Enterprise Road', 'Ola Embakasi']
             WHEN 'Mombasa' THEN ARRAY['Shell Changamwe', 'TotalEnergies Port Reitz', 'Rubis Makupa']
             WHEN 'Kisumu'  THEN ARRAY['Shell Kisumu Town', 'TotalEnergies Kibos Road']
             WHEN 'Nakuru'  THEN ARRAY['Shell Nakuru Highway', 'Rubis Lanet']
             WHEN 'Eldoret' THEN ARRAY['TotalEnergies Eldoret', 'Shell Uganda Road']
             ELSE ARRAY['Shell Thika Road', 'Rubis Thika Town'] END, pg_temp.rnd(dd.i * 100 + dd.d, 62)) AS station
    FROM dd
    JOIN dev dv USING (i)
    JOIN depots dp ON dp.geofence = dv.depot
    WHERE dd.ntrips > 0 AND (dd.d + dv.i) % dv.fill_days = 0
  ) f
) r
ORDER BY filled_at, imei;
CREATE INDEX records_imei_filled_at ON fuel.records (imei, filled_at);

-- The jobs run just after local midnight, so the last run is not in the future.
INSERT INTO fuel.ingest_state
SELECT source, p.data_end + since_end, last_id, rows_ingested, status, message
FROM params p CROSS JOIN (VALUES
  ('fuel_card_api', interval '15 minutes', (SELECT max(id) FROM fuel.records), (SELECT count(*) FROM fuel.records), 'ok', NULL),
  ('manual_upload', interval '-3 days -12 hours -18 minutes', NULL, 0, 'ok', 'no files in the upload folder'),
  ('fuel_sensor_feed', interval '-11 days -21 hours -45 minutes', NULL, 0, 'failed', 'vendor endpoint returned HTTP 503; retry scheduled')
) j(source, since_end, last_id, rows_ingested, status, message);

-- reporting's views read fuel; their owner needs the grant.
GRANT USAGE ON SCHEMA fuel TO tracksolid_owner;
GRANT SELECT ON fuel.records TO tracksolid_owner;

------------------------------------------------------------------------------
-- tickets (owned by the loading superuser)
------------------------------------------------------------------------------
\echo 'fleet_demo: tickets'
CREATE TABLE tickets.geo_clusters (
  cluster    text PRIMARY KEY,
  region     text NOT NULL,
  centre_lat double precision NOT NULL,
  centre_lng double precision NOT NULL
);
COMMENT ON TABLE tickets.geo_clusters IS 'Field-service clusters: each incident is routed to one by location.';
INSERT INTO tickets.geo_clusters VALUES
  ('NBO-CBD', 'Nairobi', -1.2864, 36.8172), ('NBO-Industrial Area', 'Nairobi', -1.3105, 36.8510),
  ('NBO-Westlands', 'Nairobi', -1.2676, 36.8108), ('NBO-Embakasi', 'Nairobi', -1.3190, 36.8950),
  ('MSA-Port', 'Coast', -4.0560, 39.6590), ('MSA-Changamwe', 'Coast', -4.0250, 39.6280),
  ('MSA-Nyali', 'Coast', -4.0300, 39.7100), ('KSM-Town', 'Western', -0.0917, 34.7680),
  ('KSM-Kibos', 'Western', -0.0650, 34.8100), ('NKR-Town', 'Rift Valley', -0.3031, 36.0800),
  ('NKR-Naivasha', 'Rift Valley', -0.7170, 36.4310), ('ELD-Town', 'Rift Valley', 0.5143, 35.2698),
  ('THK-Town', 'Central', -1.0333, 37.0693), ('THK-Ruiru', 'Central', -1.1460, 36.9600);

CREATE TABLE tickets.inc (
  id                integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  number            text NOT NULL UNIQUE,
  summary           text NOT NULL,
  priority          smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
  bucket            text NOT NULL,
  raw_status        text NOT NULL,
  normalized_status text NOT NULL,
  sla_status        text NOT NULL,
  region            text NOT NULL,
  cluster           text NOT NULL REFERENCES tickets.geo_clusters,
  assignment_group  text NOT NULL,
  owner             text,
  imei              text,
  opened_at         timestamptz NOT NULL,
  closed_at         timestamptz,
  mttr              interval,
  latitude          double precision,
  longitude         double precision,
  raw               text NOT NULL
);
COMMENT ON TABLE tickets.inc IS 'Support incidents. Query the typed columns; raw keeps the source record as key=value lines.';
COMMENT ON COLUMN tickets.inc.number IS 'incident number, INC0000001 ...';
COMMENT ON COLUMN tickets.inc.priority IS '1 critical (4 h SLA), 2 high (8 h), 3 moderate (24 h), 4 low (72 h)';
COMMENT ON COLUMN tickets.inc.bucket IS 'problem category: hardware, firmware, network, installation, data_quality, portal, driver_behaviour';
COMMENT ON COLUMN tickets.inc.raw_status IS 'status text as the source system wrote it (inconsistent)';
COMMENT ON COLUMN tickets.inc.normalized_status IS 'open, in_progress, pending, resolved, closed or cancelled';
COMMENT ON COLUMN tickets.inc.sla_status IS 'within, at_risk (open, past 75% of the target), breached, or excluded (cancelled)';
COMMENT ON COLUMN tickets.inc.cluster IS 'field-service cluster (tickets.geo_clusters)';
COMMENT ON COLUMN tickets.inc.owner IS 'assigned engineer; NULL while unassigned';
COMMENT ON COLUMN tickets.inc.imei IS 'tracker concerned, when there is one (tracksolid.devices.imei)';
COMMENT ON COLUMN tickets.inc.closed_at IS 'when it was resolved or cancelled; NULL while open';
COMMENT ON COLUMN tickets.inc.mttr IS 'time to resolve (closed_at - opened_at) for resolved and closed incidents';
COMMENT ON COLUMN tickets.inc.raw IS 'original source fields, one key=value per line; prefer the typed columns';

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis') THEN
    ALTER TABLE tickets.inc ADD COLUMN geog geography(Point, 4326)
      GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(longitude, latitude), 4326)::geography) STORED;
    COMMENT ON COLUMN tickets.inc.geog IS 'incident location as a PostGIS geography point';
  END IF;
END $$;

CREATE TEMP TABLE inc_gen ON COMMIT DROP AS
WITH n AS (
  SELECT n, pg_temp.rnd(n, 70) AS r_dev, pg_temp.rnd(n, 71) AS r_open, pg_temp.rnd(n, 72) AS r_pri,
         pg_temp.rnd(n, 73) AS r_sum, pg_temp.rnd(n, 74) AS r_mttr, pg_temp.rnd(n, 75) AS r_state,
         pg_temp.rnd(n, 76) AS r_cl
  FROM generate_series(1, (SELECT incidents FROM params)) n
), t AS (
  SELECT n.*,
         dev.imei,                 -- three incidents in four concern a device
         ((SELECT end_day FROM params) - 90 + floor(n.r_open * 90)::int + time '07:00'
           + floor(pg_temp.rnd(n.n, 77) * 720) * interval '1 minute') AT TIME ZONE 'Africa/Nairobi' AS opened_at,
         CASE WHEN n.r_pri < 0.05 THEN 1 WHEN n.r_pri < 0.20 THEN 2 WHEN n.r_pri < 0.70 THEN 3 ELSE 4 END AS priority
  FROM n
  LEFT JOIN dev ON n.r_dev < 0.75 AND dev.i = 1 + floor(n.r_dev / 0.75 * (SELECT devices FROM params))::int
), s AS (
  SELECT t.*,
         (ARRAY[4, 8, 24, 72])[t.priority] AS target_h,
         (ARRAY[
           'hardware|GPS drift on %p; please update firmware',
           'hardware|Tracker on %p not reporting since service visit',
           'hardware|Tamper alarm on %p after battery replacement',
           'hardware|Ignition wire not detected on %p',
           'hardware|Fuel sensor reading stuck at 0 on %p',
           'hardware|Driver''s panic button on %p does not raise an alert',
           'firmware|Firmware update failed on %p (JM-VL03 v2.1)',
           'firmware|Speed alerts too sensitive on %p; update threshold to 90',
           'firmware|Wrong time zone on trip report for %p',
           'network|DROP in GPS reports near %c depot',
           'network|SIM data bundle exhausted on %p',
           'network|50% packet loss on the APN around %c',
           'network|Tracker %p drops signal on the %c highway',
           'installation|Reinstall tracker after body repairs on %p',
           'installation|Add new vehicle %p to its cost centre',
           'installation|Relay cut-off test on %p; select a service window',
           'data_quality|Customer asks to delete duplicate device %p',
           'data_quality|Please delete historic trips for %p (data retention request)',
           'data_quality|Odometer mismatch between tracker and dashboard for %p',
           'data_quality|Report shows duplicate positions for %p',
           'data_quality|Please update plate number for %p',
           'portal|Cannot log in to the fleet portal (user locked out)',
           'portal|Dashboard map not loading in the %c office',
           'portal|Export to Excel times out for the monthly report',
           'portal|Update user roles for the %c dispatch team',
           'driver_behaviour|Harsh braking events flooding for %p',
           'driver_behaviour|Overspeed alerts on %p disputed by driver',
           'driver_behaviour|Geofence alerts not firing around %c depot'
         ])[1 + floor(t.r_sum * 28)::int] AS template
  FROM t
), c AS MATERIALIZED (
  SELECT s.*,
         coalesce(d.plate, 'KCQ ' || lpad((s.n % 997 + 1)::text, 3, '0') || 'Z') AS plate,
         -- the device's depot area, else anywhere
         coalesce(pg_temp.pick(ARRAY(SELECT g.cluster FROM tickets.geo_clusters g
                                     WHERE g.cluster LIKE dp.code || '-%' ORDER BY 1), s.r_cl),
                  pg_temp.pick(ARRAY(SELECT cluster FROM tickets.geo_clusters ORDER BY 1), s.r_cl)) AS cluster,
         -- hours to resolve: mostly inside the target, a tail beyond it, a few stuck for weeks
         s.target_h * CASE WHEN pg_temp.rnd(s.n, 78) < 0.05 THEN 5 + 40 * s.r_mttr
                           ELSE (0.15 + 1.3 * s.r_mttr ^ 2) * CASE WHEN pg_temp.rnd(s.n, 85) < 0.1 THEN 3 ELSE 1 END
                      END AS hours
  FROM s
  LEFT JOIN tracksolid.devices d ON d.imei = s.imei
  LEFT JOIN depots dp ON dp.geofence = d.depot
), st AS (
  SELECT c.*, g.region, g.centre_lat, g.centre_lng,
         (SELECT city FROM depots WHERE code = split_part(c.cluster, '-', 1)) AS city,
         CASE WHEN pg_temp.rnd(c.n, 79) < 0.03 THEN 'cancelled'
              WHEN c.opened_at + c.hours * interval '1 hour' <= (SELECT data_end FROM params)
                THEN CASE WHEN c.opened_at + c.hours * interval '1 hour' > (SELECT data_end FROM params) - interval '48 hours'
                               OR c.r_state < 0.1 THEN 'resolved' ELSE 'closed' END
              ELSE (ARRAY['open', 'in_progress', 'in_progress', 'pending'])[1 + floor(c.r_state * 4)::int]
         END AS normalized_status
  FROM c JOIN tickets.geo_clusters g USING (cluster)
)
SELECT st.*,
       split_part(template, '|', 1) AS bucket,
       replace(replace(split_part(template, '|', 2), '%p', plate), '%c', city) AS summary,
       CASE WHEN normalized_status IN ('resolved', 'closed', 'cancelled')
            THEN least(opened_at + hours * interval '1 hour', (SELECT data_end FROM params) - interval '5 minutes') END AS closed_at,
       CASE normalized_status
         WHEN 'cancelled' THEN 'excluded'
         WHEN 'resolved' THEN CASE WHEN hours <= target_h THEN 'within' ELSE 'breached' END
         WHEN 'closed' THEN CASE WHEN hours <= target_h THEN 'within' ELSE 'breached' END
         ELSE CASE WHEN (SELECT data_end FROM params) - opened_at > target_h * interval '1 hour' THEN 'breached'
                   WHEN (SELECT data_end FROM params) - opened_at > 0.75 * target_h * interval '1 hour' THEN 'at_risk'
                   ELSE 'within' END
       END AS sla_status,
       pg_temp.pick(CASE normalized_status
         WHEN 'open' THEN ARRAY['New', 'Open', 'new', 'Assigned']
         WHEN 'in_progress' THEN ARRAY['In Progress', 'WIP', 'Work in Progress']
         WHEN 'pending' THEN ARRAY['Pending Vendor', 'Awaiting Customer', 'On Hold']
         WHEN 'resolved' THEN ARRAY['Resolved', 'Resolved - awaiting confirmation']
         WHEN 'closed' THEN ARRAY['Closed', 'Closed Complete', 'closed']
         ELSE ARRAY['Cancelled', 'Canceled - duplicate'] END, pg_temp.rnd(n, 80)) AS raw_status,
       CASE WHEN template LIKE 'portal|%' THEN 'Platform Team'
            WHEN priority <= 2 THEN 'NOC L2'
            ELSE 'Field Ops ' || region END AS assignment_group,
       CASE WHEN normalized_status = 'open' AND pg_temp.rnd(n, 81) < 0.7 THEN NULL
            ELSE 'fe.' || lower(split_part(cluster, '-', 1)) || '.' || lpad((1 + floor(pg_temp.rnd(n, 82) * 8))::text, 2, '0') END AS owner,
       round((centre_lat + (pg_temp.rnd(n, 83) - 0.5) * 0.05) * 1e6) / 1e6 AS latitude,
       round((centre_lng + (pg_temp.rnd(n, 84) - 0.5) * 0.05) * 1e6) / 1e6 AS longitude
FROM st;

INSERT INTO tickets.inc (id, number, summary, priority, bucket, raw_status, normalized_status, sla_status,
                         region, cluster, assignment_group, owner, imei, opened_at, closed_at, mttr,
                         latitude, longitude, raw)
SELECT n, 'INC' || lpad(n::text, 7, '0'), summary, priority, bucket, raw_status, normalized_status, sla_status,
       region, cluster, assignment_group, owner, imei, opened_at, closed_at,
       CASE WHEN normalized_status IN ('resolved', 'closed') THEN closed_at - opened_at END,
       latitude, longitude,
       concat_ws(E'\n',
         'number=INC' || lpad(n::text, 7, '0'),
         'opened_at=' || to_char(opened_at AT TIME ZONE 'Africa/Nairobi', 'YYYY-MM-DD HH24:MI:SS'),
         'short_description=' || summary,
         'state=' || raw_status,
         'priority=' || priority || ' - ' || (ARRAY['Critical', 'High', 'Moderate', 'Low'])[priority],
         'category=' || initcap(replace(bucket, '_', ' ')),
         'assignment_group=' || assignment_group,
         'assigned_to=' || coalesce(owner, ''),
         'location=' || cluster,
         'u_region=' || region,
         'u_sla=' || (ARRAY['Within SLA', 'At risk', 'Breached', 'n/a'])[array_position(ARRAY['within', 'at_risk', 'breached', 'excluded'], sla_status)],
         'u_imei=' || coalesce(imei, ''),
         'u_gps=' || round(latitude::numeric, 6) || ',' || round(longitude::numeric, 6),
         'closed_at=' || coalesce(to_char(closed_at AT TIME ZONE 'Africa/Nairobi', 'YYYY-MM-DD HH24:MI:SS'), ''))
FROM inc_gen ORDER BY n;
CREATE INDEX inc_opened_at ON tickets.inc (opened_at);
CREATE INDEX inc_open ON tickets.inc (normalized_status) WHERE closed_at IS NULL;

CREATE TABLE tickets.closure_events (
  id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  inc_id integer NOT NULL REFERENCES tickets.inc,
  event  text NOT NULL,
  at     timestamptz NOT NULL,
  actor  text NOT NULL,
  note   text
);
COMMENT ON TABLE tickets.closure_events IS 'Lifecycle of each incident: opened, assigned, resolved, closed, cancelled.';
INSERT INTO tickets.closure_events (inc_id, event, at, actor, note)
SELECT i.id, e.event, e.at, e.actor, e.note
FROM tickets.inc i
CROSS JOIN LATERAL (VALUES
  ('opened', i.opened_at, 'portal', NULL, true),
  ('assigned', i.opened_at + (5 + floor(pg_temp.rnd(i.id, 90) * 40)) * interval '1 minute', 'noc.dispatch',
   'assigned to ' || i.owner, i.owner IS NOT NULL AND i.normalized_status <> 'cancelled'),
  ('resolved', i.closed_at, coalesce(i.owner, 'noc.dispatch'),
   pg_temp.pick(ARRAY['replaced tracker', 'reflashed firmware', 'SIM topped up', 'rewired ignition sense',
                      'duplicate record removed', 'configuration updated', 'no fault found', 'user unlocked'],
                pg_temp.rnd(i.id, 91)),
   i.normalized_status IN ('resolved', 'closed')),
  ('closed', least(i.closed_at + (2 + floor(pg_temp.rnd(i.id, 92) * 46)) * interval '1 hour',
                   (SELECT data_end FROM params) - interval '1 minute'),
   'portal', 'confirmed by requester', i.normalized_status = 'closed'),
  ('cancelled', i.closed_at, coalesce(i.owner, 'noc.dispatch'), 'duplicate of another incident',
   i.normalized_status = 'cancelled')
) e(event, at, actor, note, happened)
WHERE e.happened
ORDER BY e.at, i.id, e.event;
CREATE INDEX closure_events_inc ON tickets.closure_events (inc_id);

-- Nightly snapshot of the incident backlog per region.
CREATE TABLE tickets.inc_daily_snapshot (
  day           date NOT NULL,
  region        text NOT NULL,
  open_total    integer NOT NULL,
  opened        integer NOT NULL,
  closed        integer NOT NULL,
  breached_open integer NOT NULL,
  PRIMARY KEY (day, region)
);
COMMENT ON TABLE tickets.inc_daily_snapshot IS 'Backlog per region at the end of each local day (written by a nightly job).';
COMMENT ON COLUMN tickets.inc_daily_snapshot.breached_open IS 'open at the end of the day and past the SLA target';
INSERT INTO tickets.inc_daily_snapshot
SELECT day, r.region,
       count(i.id) FILTER (WHERE i.opened_at < day_end AND (i.closed_at IS NULL OR i.closed_at >= day_end)),
       count(i.id) FILTER (WHERE i.opened_at >= day_end - interval '24 hours' AND i.opened_at < day_end),
       count(i.id) FILTER (WHERE i.closed_at >= day_end - interval '24 hours' AND i.closed_at < day_end),
       count(i.id) FILTER (WHERE i.opened_at < day_end AND (i.closed_at IS NULL OR i.closed_at >= day_end)
                             AND i.opened_at + (ARRAY[4, 8, 24, 72])[i.priority] * interval '1 hour' < day_end)
FROM params p
CROSS JOIN generate_series(1, 90) k
CROSS JOIN LATERAL (SELECT p.end_day - 91 + k AS day,
                           (p.end_day - 90 + k)::timestamp AT TIME ZONE 'Africa/Nairobi' AS day_end) dy
CROSS JOIN (SELECT DISTINCT region FROM tickets.geo_clusters) r
LEFT JOIN tickets.inc i ON i.region = r.region
GROUP BY day, r.region
ORDER BY day, r.region;

CREATE TABLE tickets.crq (
  id              integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  number          text NOT NULL UNIQUE,
  title           text NOT NULL,
  category        text NOT NULL,
  risk            text NOT NULL,
  status          text NOT NULL,
  region          text,
  requested_by    text NOT NULL,
  planned_start   timestamptz NOT NULL,
  planned_end     timestamptz NOT NULL,
  actual_start    timestamptz,
  actual_end      timestamptz,
  devices_affected integer NOT NULL
);
COMMENT ON TABLE tickets.crq IS 'Change requests: firmware rollouts, network and platform changes, field campaigns.';
COMMENT ON COLUMN tickets.crq.status IS 'Draft, Scheduled, Implemented, Closed, Failed or Cancelled';
INSERT INTO tickets.crq (id, number, title, category, risk, status, region, requested_by,
                         planned_start, planned_end, actual_start, actual_end, devices_affected)
SELECT n, 'CRQ' || lpad(n::text, 6, '0'),
       replace(pg_temp.pick(ARRAY[
         'Firmware rollout JM-VL03 v2.1, batch %r', 'APN migration for %r trackers',
         'Decommission trackers on sold vehicles (%r)', 'Database maintenance: vacuum and reindex reporting tables',
         'Update geofences for the %r depots', 'Drop legacy SMS gateway route', 'Replace GT06N units in %r',
         'Update speed-limit profiles for trucks', 'Portal release 4.%n: new trip report', 'Rotate fuel-card API credentials'],
         pg_temp.rnd(n, 100)), '%r', reg) AS title,
       pg_temp.pick(ARRAY['firmware', 'network', 'field', 'platform'], pg_temp.rnd(n, 101)),
       pg_temp.pick(ARRAY['low', 'low', 'medium', 'high'], pg_temp.rnd(n, 102)),
       status, reg, 'user' || lpad((1 + floor(pg_temp.rnd(n, 103) * 24))::text, 2, '0') || '@example.com',
       ps, ps + (1 + floor(pg_temp.rnd(n, 104) * 8)) * interval '1 hour',
       CASE WHEN status IN ('Implemented', 'Closed', 'Failed') THEN ps + floor(pg_temp.rnd(n, 105) * 30) * interval '1 minute' END,
       CASE WHEN status IN ('Implemented', 'Closed', 'Failed') THEN ps + (1 + floor(pg_temp.rnd(n, 106) * 9)) * interval '1 hour' END,
       floor(pg_temp.rnd(n, 107) * 120)::int
FROM (
  SELECT n, pg_temp.pick(ARRAY['Nairobi', 'Coast', 'Western', 'Rift Valley', 'Central'], pg_temp.rnd(n, 108)) AS reg,
         ((SELECT end_day FROM params) - 90 + floor(pg_temp.rnd(n, 109) * 104)::int + time '22:00')
           AT TIME ZONE 'Africa/Nairobi' AS ps
  FROM generate_series(1, greatest(5, (SELECT incidents FROM params) / 6)) n
) c
CROSS JOIN LATERAL (SELECT CASE
  WHEN c.ps > (SELECT data_end FROM params) THEN pg_temp.pick(ARRAY['Draft', 'Scheduled', 'Scheduled'], pg_temp.rnd(n, 110))
  ELSE pg_temp.pick(ARRAY['Closed', 'Closed', 'Closed', 'Implemented', 'Failed', 'Cancelled'], pg_temp.rnd(n, 111)) END AS status) s
ORDER BY n;
UPDATE tickets.crq SET title = replace(title, '%n', (id % 9 + 1)::text) WHERE title LIKE '%\%n%';

-- The ticketing application's users: the sensitive columns exercise redaction.
CREATE TABLE tickets.users (
  id             integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  email          text NOT NULL UNIQUE,
  first_name     text NOT NULL,
  last_name      text NOT NULL,
  is_super_admin boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL,
  password_hash  text NOT NULL,
  api_key        text,
  totp_secret    text
);
COMMENT ON TABLE tickets.users IS 'Users of the ticketing portal. password_hash, api_key and totp_secret are secrets.';
COMMENT ON COLUMN tickets.users.password_hash IS 'bcrypt hash (secret)';
COMMENT ON COLUMN tickets.users.api_key IS 'portal API key (secret)';
COMMENT ON COLUMN tickets.users.totp_secret IS 'two-factor seed, base32 (secret)';
INSERT INTO tickets.users (id, email, first_name, last_name, is_super_admin, created_at, password_hash, api_key, totp_secret)
SELECT n, 'user' || lpad(n::text, 2, '0') || '@example.com', fn, ln, n <= 2,
       (date '2024-01-15' + floor(pg_temp.rnd(n, 120) * 800)::int + time '09:00') AT TIME ZONE 'Africa/Nairobi',
       '$2b$12$' || substr(translate(encode(sha256(('pw' || n)::bytea) || sha256(('salt' || n)::bytea), 'base64'),
                                     E'+=\n', './'), 1, 53),
       CASE WHEN n % 3 <> 0 THEN 'ak_live_' || encode(sha256(('key' || n)::bytea), 'hex') END,
       CASE WHEN n % 2 = 0 THEN translate(upper(substr(encode(sha256(('totp' || n)::bytea), 'hex'), 1, 32)), '0189', 'QRST') END
FROM generate_series(1, 24) n
CROSS JOIN LATERAL (SELECT
  (ARRAY['Amina', 'Brian', 'Cynthia', 'David', 'Esther', 'Felix', 'Grace', 'Hassan', 'Irene', 'James', 'Kevin', 'Lucy',
         'Moses', 'Naomi', 'Omar', 'Purity', 'Quentin', 'Rose', 'Samuel', 'Teresa', 'Umar', 'Violet', 'Walter', 'Zawadi'])[n] AS fn,
  (ARRAY['Achieng', 'Barasa', 'Chebet', 'Dena', 'Ekal', 'Fundi', 'Gitau', 'Hamisi', 'Imbuga', 'Jeptoo', 'Kamau', 'Lemayian',
         'Mutua', 'Njeri', 'Odhiambo', 'Pkemoi', 'Rotich', 'Sang', 'Tanui', 'Wafula', 'Wekesa', 'Yego', 'Ruto', 'Kiptoo'])
    [1 + (n * 7) % 24] AS ln) names
ORDER BY n;
-- The explicit ids above bypassed the identity sequences; move them past the data.
DO $$
BEGIN
  PERFORM setval(pg_get_serial_sequence('tickets.inc', 'id'), (SELECT max(id) FROM tickets.inc));
  PERFORM setval(pg_get_serial_sequence('tickets.crq', 'id'), (SELECT max(id) FROM tickets.crq));
  PERFORM setval(pg_get_serial_sequence('tickets.users', 'id'), (SELECT max(id) FROM tickets.users));
END $$;

CREATE TABLE tickets.change_log (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  changed_at timestamptz NOT NULL,
  actor      text NOT NULL,
  entity     text NOT NULL,
  entity_id  text NOT NULL,
  action     text NOT NULL,
  change     text NOT NULL
);
COMMENT ON TABLE tickets.change_log IS 'Audit trail of edits made in the ticketing portal.';
INSERT INTO tickets.change_log (changed_at, actor, entity, entity_id, action, change)
SELECT i.opened_at + (1 + floor(pg_temp.rnd(i.id, 130) * 300)) * interval '1 minute',
       'user' || lpad((1 + floor(pg_temp.rnd(i.id, 131) * 24))::text, 2, '0') || '@example.com',
       'inc', i.number, c.action, c.change
FROM tickets.inc i
CROSS JOIN LATERAL (SELECT
  (ARRAY['update', 'update', 'update', 'comment', 'delete_attachment'])[1 + floor(pg_temp.rnd(i.id, 132) * 5)::int] AS action) a
CROSS JOIN LATERAL (SELECT a.action, CASE a.action
  WHEN 'update' THEN pg_temp.pick(ARRAY['priority raised', 'priority lowered', 'SLA clock paused', 'reassigned',
                                        'category changed to ' || i.bucket], pg_temp.rnd(i.id, 133))
  WHEN 'comment' THEN 'customer called for an update'
  ELSE 'removed a duplicate photo' END AS change) c
WHERE pg_temp.rnd(i.id, 134) < 0.6
ORDER BY 1, i.id;

------------------------------------------------------------------------------
-- Views and functions
------------------------------------------------------------------------------
\echo 'fleet_demo: views and functions'
CREATE VIEW tickets.inc_open_sla AS
SELECT i.number, i.summary, i.priority, i.region, i.cluster, i.owner, i.normalized_status, i.sla_status,
       i.opened_at,
       i.opened_at + (ARRAY[4, 8, 24, 72])[i.priority] * interval '1 hour' AS due_at,
       asof.at - i.opened_at AS age
FROM tickets.inc i
CROSS JOIN (SELECT max(at) AS at FROM tickets.closure_events) asof
WHERE i.closed_at IS NULL;
COMMENT ON VIEW tickets.inc_open_sla IS 'Open incidents with their SLA due time; age is measured at the last recorded ticket activity.';

CREATE FUNCTION tickets.fn_mttr_by_region(p_from date, p_to date)
RETURNS TABLE (region text, resolved bigint, mttr_hours numeric, breached_pct numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT region, count(*), round((extract(epoch FROM avg(mttr)) / 3600)::numeric, 1),
         round(100.0 * count(*) FILTER (WHERE sla_status = 'breached') / count(*), 1)
  FROM tickets.inc
  WHERE mttr IS NOT NULL
    AND closed_at >= p_from::timestamp AT TIME ZONE 'Africa/Nairobi'
    AND closed_at < (p_to + 1)::timestamp AT TIME ZONE 'Africa/Nairobi'
  GROUP BY region ORDER BY region
$$;
COMMENT ON FUNCTION tickets.fn_mttr_by_region(date, date) IS 'Incidents resolved between two local dates (inclusive) per region: count, mean time to resolve, share breaching SLA.';

CREATE FUNCTION fuel.fn_fuel_efficiency(p_from date, p_to date)
RETURNS TABLE (imei text, fills bigint, litres numeric, cost numeric, km numeric, litres_per_100km numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  -- Each fill replaces what was burnt since the previous one, so the first fill
  -- in the range only gives the starting odometer: every column leaves it out,
  -- and litres_per_100km = 100 * litres / km.
  WITH f AS (
    SELECT imei, litres, cost, odometer_km,
           row_number() OVER (PARTITION BY imei ORDER BY filled_at, id) AS n,
           first_value(odometer_km) OVER (PARTITION BY imei ORDER BY filled_at, id) AS start_km
    FROM fuel.records
    WHERE filled_at >= p_from::timestamp AT TIME ZONE 'Africa/Nairobi'
      AND filled_at < (p_to + 1)::timestamp AT TIME ZONE 'Africa/Nairobi'
  )
  SELECT imei, count(*) FILTER (WHERE n > 1), coalesce(sum(litres) FILTER (WHERE n > 1), 0),
         coalesce(sum(cost) FILTER (WHERE n > 1), 0), max(odometer_km) - min(start_km),
         round(100 * sum(litres) FILTER (WHERE n > 1) / nullif(max(odometer_km) - min(start_km), 0), 1)
  FROM f
  GROUP BY imei ORDER BY imei
$$;
COMMENT ON FUNCTION fuel.fn_fuel_efficiency(date, date) IS 'Per vehicle between two local dates, by the full-tank method: the first fill in the range only marks the starting odometer (its fuel was burnt before), so fills, litres and cost (KES) count the fills after it, km runs from the first fill to the last, and litres_per_100km = 100 * litres / km. For everything bought, sum fuel.records.';

SET ROLE tracksolid_owner;

CREATE TABLE reporting.refresh_log (
  id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  view_name    text NOT NULL,
  refreshed_at timestamptz NOT NULL,
  duration_ms  integer NOT NULL,
  status       text NOT NULL,
  notes        text
);
COMMENT ON TABLE reporting.refresh_log IS 'One row per refresh of a materialized view by the nightly job.';
INSERT INTO reporting.refresh_log (view_name, refreshed_at, duration_ms, status, notes)
SELECT 'reporting.v_trips', (p.first_day + d + 1 + time '00:30') AT TIME ZONE 'Africa/Nairobi',
       (4000 + floor(pg_temp.rnd(d, 140) * 3000))::int,
       CASE WHEN d = 17 THEN 'failed' ELSE 'ok' END,
       CASE WHEN d = 17 THEN 'canceling statement due to lock timeout; retried next night' ELSE 'nightly' END
FROM params p CROSS JOIN generate_series(0, p.days - 1) d
ORDER BY d;

CREATE FUNCTION reporting.fn_haversine_km(lat1 float8, lng1 float8, lat2 float8, lng2 float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT 2 * 6371.0088 * asin(least(1, sqrt(sin(radians(lat2 - lat1) / 2) ^ 2
                          + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lng2 - lng1) / 2) ^ 2)))
$$;
COMMENT ON FUNCTION reporting.fn_haversine_km(float8, float8, float8, float8) IS 'Great-circle distance in km between two lat/lng points.';

CREATE VIEW reporting.v_daily_summary AS
WITH p AS (
  SELECT imei, (ts AT TIME ZONE 'Africa/Nairobi')::date AS day, ts, lat, lng, speed, ignition, mileage,
         lag(ts) OVER w AS prev_ts, lag(lat) OVER w AS prev_lat, lag(lng) OVER w AS prev_lng,
         lag(ignition) OVER w AS prev_ignition
  FROM tracksolid.positions
  WINDOW w AS (PARTITION BY imei, (ts AT TIME ZONE 'Africa/Nairobi')::date ORDER BY ts)
)
SELECT imei, day,
       count(*) AS points,
       round(coalesce(sum(reporting.fn_haversine_km(prev_lat, prev_lng, lat, lng))
                        FILTER (WHERE ignition AND prev_ignition), 0)::numeric, 2) AS km,
       round((max(mileage) - min(mileage))::numeric, 1) AS odometer_km,
       max(speed) AS max_speed,
       round(avg(speed) FILTER (WHERE speed > 3)::numeric, 1) AS avg_moving_speed,
       round(coalesce(sum(extract(epoch FROM least(ts - prev_ts, interval '5 minutes')))
                        FILTER (WHERE ignition AND prev_ignition), 0) / 60)::integer AS moving_minutes,
       min(ts) AS first_fix,
       max(ts) AS last_fix
FROM p
GROUP BY imei, day;
COMMENT ON VIEW reporting.v_daily_summary IS 'Per device and local day (Africa/Nairobi): fixes, km driven (haversine between consecutive driving fixes), odometer km, max and average moving speed, moving minutes. Filter on imei and day.';
COMMENT ON COLUMN reporting.v_daily_summary.km IS 'km driven: haversine between consecutive fixes while the ignition was on';
COMMENT ON COLUMN reporting.v_daily_summary.odometer_km IS 'max - min odometer that day, km';

CREATE MATERIALIZED VIEW reporting.v_trips AS
WITH p AS (
  SELECT imei, ts, lat, lng, speed, ignition, mileage,
         lag(ts) OVER w AS prev_ts, lag(ignition) OVER w AS prev_ignition,
         lag(lat) OVER w AS prev_lat, lag(lng) OVER w AS prev_lng
  FROM tracksolid.positions
  WINDOW w AS (PARTITION BY imei ORDER BY ts)
), driving AS (
  -- a trip starts at ignition on, or after more than 10 minutes without a fix
  SELECT *, prev_ignition IS DISTINCT FROM true OR ts - prev_ts > interval '10 minutes' AS starts
  FROM p WHERE ignition
), numbered AS (
  SELECT *, count(*) FILTER (WHERE starts) OVER (PARTITION BY imei ORDER BY ts) AS trip_no
  FROM driving
)
SELECT imei, trip_no::integer AS trip_no,
       (min(ts) AT TIME ZONE 'Africa/Nairobi')::date AS day,
       min(ts) AS started_at, max(ts) AS ended_at, max(ts) - min(ts) AS duration,
       count(*) AS points,
       round(coalesce(sum(reporting.fn_haversine_km(prev_lat, prev_lng, lat, lng)) FILTER (WHERE NOT starts), 0)::numeric, 2) AS km,
       max(speed) AS max_speed,
       round(avg(speed) FILTER (WHERE speed > 3)::numeric, 1) AS avg_speed,
       (array_agg(lat ORDER BY ts))[1] AS start_lat, (array_agg(lng ORDER BY ts))[1] AS start_lng,
       (array_agg(lat ORDER BY ts DESC))[1] AS end_lat, (array_agg(lng ORDER BY ts DESC))[1] AS end_lng
FROM numbered
GROUP BY imei, trip_no
HAVING count(*) >= 2
WITH NO DATA;
CREATE UNIQUE INDEX v_trips_imei_started ON reporting.v_trips (imei, started_at);
CREATE INDEX v_trips_day ON reporting.v_trips (day);
COMMENT ON MATERIALIZED VIEW reporting.v_trips IS 'Trips: runs of driving fixes, split when the ignition goes off or no fix arrives for 10 minutes. Refreshed nightly (reporting.refresh_log).';
COMMENT ON COLUMN reporting.v_trips.trip_no IS 'trip number within the device''s history';
COMMENT ON COLUMN reporting.v_trips.day IS 'local date (Africa/Nairobi) the trip started';
COMMENT ON COLUMN reporting.v_trips.km IS 'haversine km between consecutive fixes of the trip';

CREATE VIEW reporting.v_monthly_cost_centre AS
WITH trips AS (
  SELECT date_trunc('month', t.day::timestamp)::date AS month, d.cost_centre,
         count(DISTINCT t.imei) AS vehicles, count(*) AS trips, sum(t.km) AS km,
         sum(extract(epoch FROM t.duration)) / 3600 AS driving_hours
  FROM reporting.v_trips t JOIN tracksolid.devices d USING (imei)
  GROUP BY 1, 2
), fills AS (
  SELECT date_trunc('month', f.filled_at AT TIME ZONE 'Africa/Nairobi')::date AS month, d.cost_centre,
         sum(f.litres) AS litres, sum(f.cost) AS fuel_cost
  FROM fuel.records f JOIN tracksolid.devices d USING (imei)
  GROUP BY 1, 2
), alarms AS (
  SELECT date_trunc('month', e.ts AT TIME ZONE 'Africa/Nairobi')::date AS month, d.cost_centre,
         count(*) FILTER (WHERE e.type = 'overspeed') AS overspeed_events,
         count(*) FILTER (WHERE e.type IN ('harsh_braking', 'harsh_acceleration')) AS harsh_events
  FROM tracksolid.events e JOIN tracksolid.devices d USING (imei)
  GROUP BY 1, 2
)
SELECT month, cost_centre,
       coalesce(t.vehicles, 0) AS vehicles, coalesce(t.trips, 0) AS trips,
       round(coalesce(t.km, 0), 1) AS km, round(coalesce(t.driving_hours, 0)::numeric, 1) AS driving_hours,
       coalesce(f.litres, 0) AS fuel_litres, coalesce(f.fuel_cost, 0) AS fuel_cost,
       round(f.fuel_cost / nullif(t.km, 0), 2) AS fuel_cost_per_km,
       coalesce(a.overspeed_events, 0) AS overspeed_events, coalesce(a.harsh_events, 0) AS harsh_events
FROM trips t
FULL JOIN fills f USING (month, cost_centre)
FULL JOIN alarms a USING (month, cost_centre)
ORDER BY month, cost_centre;
COMMENT ON VIEW reporting.v_monthly_cost_centre IS 'Per calendar month (local) and cost centre: vehicles, trips, km, driving hours, fuel litres and cost (KES), cost per km, overspeed and harsh-driving events.';

CREATE FUNCTION reporting.fn_device_day(p_imei text, p_day date)
RETURNS TABLE (ts timestamptz, lat double precision, lng double precision, speed real, heading smallint,
               ignition boolean, mileage double precision)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT ts, lat, lng, speed, heading, ignition, mileage
  FROM tracksolid.positions
  WHERE imei = p_imei
    AND ts >= p_day::timestamp AT TIME ZONE 'Africa/Nairobi'
    AND ts < (p_day + 1)::timestamp AT TIME ZONE 'Africa/Nairobi'
  ORDER BY ts
$$;
COMMENT ON FUNCTION reporting.fn_device_day(text, date) IS 'The track of one device on one local day, in time order.';

CREATE FUNCTION reporting.fn_cost_centre_km(p_from date, p_to date)
RETURNS TABLE (cost_centre text, vehicles bigint, trips bigint, km numeric, driving_hours numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT d.cost_centre, count(DISTINCT t.imei), count(*), round(sum(t.km), 1),
         round((sum(extract(epoch FROM t.duration)) / 3600)::numeric, 1)
  FROM reporting.v_trips t JOIN tracksolid.devices d USING (imei)
  WHERE t.day BETWEEN p_from AND p_to
  GROUP BY d.cost_centre
  ORDER BY 4 DESC
$$;
COMMENT ON FUNCTION reporting.fn_cost_centre_km(date, date) IS 'Km and driving hours per cost centre for trips started between two local dates (inclusive).';

CREATE FUNCTION reporting.fn_top_speeders(p_n integer, p_from date, p_to date)
RETURNS TABLE (imei text, name text, plate text, cost_centre text, overspeed_events bigint, max_speed real)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT d.imei, d.name, d.plate, d.cost_centre, count(*), max(e.speed)
  FROM tracksolid.events e JOIN tracksolid.devices d USING (imei)
  WHERE e.type = 'overspeed'
    AND e.ts >= p_from::timestamp AT TIME ZONE 'Africa/Nairobi'
    AND e.ts < (p_to + 1)::timestamp AT TIME ZONE 'Africa/Nairobi'
  GROUP BY d.imei, d.name, d.plate, d.cost_centre
  ORDER BY count(*) DESC, max(e.speed) DESC, d.imei
  LIMIT p_n
$$;
COMMENT ON FUNCTION reporting.fn_top_speeders(integer, date, date) IS 'The p_n vehicles with the most overspeed events between two local dates (inclusive).';

\echo 'fleet_demo: refreshing reporting.v_trips'
REFRESH MATERIALIZED VIEW reporting.v_trips;
RESET ROLE;

\echo 'fleet_demo: analyze'
ANALYZE;
COMMIT;

SELECT 'tracksolid.devices' AS "table", count(*) AS "rows" FROM tracksolid.devices
UNION ALL SELECT 'tracksolid.positions', count(*) FROM tracksolid.positions
UNION ALL SELECT 'tracksolid.events', count(*) FROM tracksolid.events
UNION ALL SELECT 'reporting.v_trips', count(*) FROM reporting.v_trips
UNION ALL SELECT 'tickets.inc', count(*) FROM tickets.inc
UNION ALL SELECT 'tickets.crq', count(*) FROM tickets.crq
UNION ALL SELECT 'fuel.records', count(*) FROM fuel.records;
\echo 'fleet_demo: done'
