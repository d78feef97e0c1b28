// What "a relation the role can read" means, once, for every query of
// PostgreSQL's catalog: the tools, the resources, the record API, the guard's
// catalog, the self-audit and role-sql. SQL text as macros, so each joins its
// neighbouring string literals at compile time; the queries alias pg_class as
// `c`.
#pragma once

// Tables, partitioned tables, views, materialized views and foreign tables:
// what a SELECT can read. (Sequences, indexes and composite types are not.)
#define FLEETMCP_RELKINDS "('r', 'p', 'v', 'm', 'f')"

// A relation the role may SELECT from: on the whole table or on some of its
// columns (tables with sensitive columns are granted column by column).
#define FLEETMCP_READABLE_RELATION \
  "c.relkind IN " FLEETMCP_RELKINDS " AND pg_catalog.has_any_column_privilege(c.oid, 'SELECT')"

// The same, without partitions: they are read through their parent.
#define FLEETMCP_LISTED_RELATION FLEETMCP_READABLE_RELATION " AND NOT c.relispartition"

// A column of such a relation the role may read (`a` is pg_attribute).
#define FLEETMCP_READABLE_COLUMN "pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT')"

// A plain function the role may call (`p` is pg_proc).
#define FLEETMCP_READABLE_FUNCTION "p.prokind = 'f' AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE')"

// A relation's kind in words: table, view, materialized view, foreign table.
#define FLEETMCP_RELATION_KIND                                                                           \
  "CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' " \
  "ELSE 'table' END"

// PostgreSQL's estimate of its rows, where it keeps one (null before the first ANALYZE).
#define FLEETMCP_ROW_ESTIMATE "CASE WHEN c.relkind IN ('r', 'p', 'm') AND c.reltuples >= 0 THEN c.reltuples::bigint END"
