-- analytics_ro_role.sql: the read-only LOGIN role fleetmcp connects as.
-- Run as a superuser with psql, supplying the password as a variable (no secret in the repo):
--   psql -v ON_ERROR_STOP=1 -v ro_pw="$PW" -d <database> -f scripts/analytics_ro_role.sql
-- Grants exactly the read surface: USAGE + SELECT on the readable schemas' tables,
-- views and materialized views, EXECUTE on their functions. No INSERT/UPDATE/DELETE,
-- owns nothing, so it can never write or REFRESH. Idempotent: re-applying rotates the password.
\set ON_ERROR_STOP on

DO $role$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'analytics_ro') THEN
    CREATE ROLE analytics_ro LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
END $role$;

ALTER ROLE analytics_ro WITH LOGIN PASSWORD :'ro_pw';

DO $grants$
DECLARE
  s text;
  owner text;
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO analytics_ro', current_database());
  FOREACH s IN ARRAY ARRAY['reporting', 'tracksolid', 'tickets', 'fuel'] LOOP
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = s);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO analytics_ro', s);
    -- ALL TABLES covers tables, views and materialized views present today.
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO analytics_ro', s);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %I TO analytics_ro', s);
    -- Future objects: default privileges must name the role that OWNS the schema's
    -- objects (e.g. a migration role for reporting/tracksolid, postgres for
    -- tickets/fuel), or new objects will not be readable.
    SELECT pg_get_userbyid(nspowner) INTO owner FROM pg_namespace WHERE nspname = s;
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT SELECT ON TABLES TO analytics_ro', owner, s);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT EXECUTE ON FUNCTIONS TO analytics_ro', owner, s);
  END LOOP;
END $grants$;

-- Hardening: this role serves ad-hoc human queries.
ALTER ROLE analytics_ro SET default_transaction_read_only = on;
ALTER ROLE analytics_ro SET statement_timeout = '30s';
ALTER ROLE analytics_ro SET idle_in_transaction_session_timeout = '60s';
