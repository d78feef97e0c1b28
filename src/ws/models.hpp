// Models of the record API: the relation an allowed model name stands for, as
// the catalog describes it to the read-only role, and the SELECT each request
// becomes. Identifiers come from the catalog and are always quoted; request
// values are always bound parameters, never part of the SQL text.
#pragma once

#include <libpq-fe.h>

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "pg/connection.hpp"
#include "sql/guard.hpp"
#include "ws/protocol.hpp"

namespace fleetmcp::ws {

struct Relation {
  std::string schema, name;
  // Columns the role may read, in table order, sensitive ones left out: the
  // explicit select list (never SELECT *, so a column added later cannot leak).
  std::vector<std::string> columns;
  // The primary key's columns; empty when there is none.
  std::vector<std::string> primary_key;
  bool primary_key_readable = true;  // false: a key column is sensitive or not granted
};

// The catalog statement describing `model`: a bare name is looked up in
// `readable_schemas` in order (the first schema that has it wins, as on a
// search_path); views and materialized views count, anything not readable by
// the role does not.
pg::Statement describe_statement(const config::RecordModel& model, const std::vector<std::string>& readable_schemas);

// The relation from describe_statement's result; nothing when there was none.
std::optional<Relation> relation_from(const PGresult* result, const sql::Policy& policy);

// SELECT for list and query: filters checked against the relation's real
// columns (a sensitive one is refused: filtering on it would reveal it), rows
// ordered by order_by or else the primary key so that pages are stable.
core::Result<pg::Statement> select_statement(const std::string& model, const Relation& relation,
                                             const Selection& selection, const sql::Policy& policy);

// SELECT for get: the row whose single-column primary key equals `id`.
core::Result<pg::Statement> get_statement(const std::string& model, const Relation& relation, std::string id);

}  // namespace fleetmcp::ws
