// The SQL guard: decides on PostgreSQL's own parse tree (libpg_query) whether a
// statement may run, and returns exactly the text that will run. One of four
// read-only layers (role grants, read-only transaction, rollback, this).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.hpp"
#include "config/config.hpp"
#include "core/result.hpp"

namespace fleetmcp::sql {

// What the guard accepts beyond the fixed rules (one statement, reads only,
// every call judged against the catalog, no secret catalog). Defaults are the
// safe ones.
struct Policy {
  // With enforce_schemas, a schema-qualified relation or function must be in
  // readable_schemas, pg_catalog or information_schema. Unqualified names are
  // allowed (the search path decides) but reported.
  bool enforce_schemas = true;
  std::vector<std::string> readable_schemas = config::kDefaultReadableSchemas;
  // Columns that may not be named anywhere in a statement (case-insensitive);
  // SELECT * results drop them after the fact (see redacted_columns()).
  std::vector<std::string> redact_columns;
  // The catalog functions, operators and casts are judged against; null: the
  // built-in knowledge of PostgreSQL 15's pg_catalog (check-sql offline).
  const catalog::Store* catalog = nullptr;
};

// The server's policy (MCP_ENFORCE_SCHEMAS, MCP_READABLE_SCHEMAS,
// MCP_REDACT_COLUMNS), judged against `catalog`.
Policy policy_from(const config::Config& config, const catalog::Store* catalog = nullptr);

enum class StatementKind {
  Select,   // runs through a cursor, capped by FETCH
  Explain,  // EXPLAIN (ANALYZE too) of a SELECT: runs directly
  Show,     // SHOW of a non-secret setting: runs directly
};

struct ValidatedStatement {
  StatementKind kind = StatementKind::Select;
  std::string text;                                // the statement's own text from the parse tree, plus "\n"
  std::string fingerprint;                         // pg_query_fingerprint, groups identical queries in audit
  int start_position = 1;                          // 1-based character position of `text` in the input
  std::vector<std::string> unqualified_relations;  // resolved by the search path
  std::vector<std::string> qualified_relations;    // "schema.name", as written
  // What the verdict could not check (offline: functions outside PostgreSQL
  // 15's pg_catalog), for check-sql to show.
  std::vector<std::string> notes;
};

// Rejections are ErrorKind::Denied with `rule` set, a message naming the
// offending construct, and a 1-based character position into `sql`.
core::Result<ValidatedStatement> validate(std::string_view sql, const Policy& policy = {});

// pg_query_normalize: constants replaced by $n, for operators reading verdicts.
std::string normalize(std::string_view sql);

// Whether a result column must be dropped from what leaves the server: by its
// name, or by the table column it comes from (PQftable/PQftablecol; 0 if none).
bool is_redacted_column(const Policy& policy, std::string_view column);
bool is_redacted_column(const Policy& policy, const catalog::Catalog& catalog, std::string_view column,
                        unsigned table_oid, int table_column);

// Always-quoted identifier, safe to splice: "a""b" for a"b.
std::string quote_identifier(std::string_view name);

// A caret line under the offending position, for error texts shown to analysts.
std::string caret_excerpt(std::string_view sql, int position);

}  // namespace fleetmcp::sql
