#include "ws/models.hpp"

#include "catalog/relations.hpp"
#include "pg/row.hpp"

#include <algorithm>
#include <cstdlib>

namespace fleetmcp::ws {
namespace {

using core::ErrorKind;
using core::make_error;

// One row per column of the candidate relations, the first readable schema
// first. key_position is the column's place in the primary key, from 1 (0: not
// in it; beyond key_size: an INCLUDE column, not part of the key). indkey is
// an int2vector, whose subscripts start at 0: ORDINALITY counts from 1.
constexpr const char* kDescribeSql = R"(SELECT n.nspname, c.relname, a.attname,
       coalesce((SELECT k.n FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
                 WHERE k.attnum = a.attnum), 0) AS key_position,
       coalesce(i.indnkeyatts, 0) AS key_size,
       )" FLEETMCP_READABLE_COLUMN R"( AS readable
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary
WHERE c.relname = $1 AND n.nspname = ANY ($2::text[])
  AND c.relkind IN )" FLEETMCP_RELKINDS R"(
  AND has_schema_privilege(n.oid, 'USAGE')
ORDER BY array_position($2::text[], n.nspname::text), a.attnum)";

std::string column_list(const Relation& r) {
  std::string out;
  for (const auto& c : r.columns) out += (out.empty() ? "" : ", ") + c;
  return out;
}

std::string qualified(const Relation& r) {
  return sql::quote_identifier(r.schema) + "." + sql::quote_identifier(r.name);
}

std::string select_list(const Relation& r) {
  std::string out;
  for (const auto& c : r.columns) out += (out.empty() ? "" : ", ") + sql::quote_identifier(c);
  return out;
}

bool has_column(const Relation& r, const std::string& column) {
  return std::find(r.columns.begin(), r.columns.end(), column) != r.columns.end();
}

// A column a request names (to filter or to order): refused when sensitive,
// whether or not this relation has it, so the answer reveals nothing about
// the column; then it must be one the select list has.
core::Status check_named_column(const std::string& model, const Relation& r, const std::string& column, const char* use,
                                const sql::Policy& policy) {
  if (sql::is_redacted_column(policy, column))
    return make_error(ErrorKind::Denied, "Column '" + column +
                                             "' is sensitive: it is never returned and cannot be used to " + use +
                                             " (MCP_REDACT_COLUMNS)");
  if (!has_column(r, column))
    return make_error(ErrorKind::BadRequest,
                      "Unknown column '" + column + "' for model '" + model + "'. Columns: " + column_list(r));
  return core::ok_status();
}

}  // namespace

pg::Statement describe_statement(const config::RecordModel& model, const std::vector<std::string>& readable_schemas) {
  // A text[] literal; config has checked that schema names are plain identifiers.
  std::string schemas = "{";
  if (!model.schema.empty()) {
    schemas += model.schema;
  } else {
    for (std::size_t i = 0; i < readable_schemas.size(); ++i) schemas += (i ? "," : "") + readable_schemas[i];
  }
  schemas += "}";
  return {kDescribeSql, {model.relation, schemas}};
}

std::optional<Relation> relation_from(const PGresult* result, const sql::Policy& policy) {
  const int rows = PQntuples(result);
  if (rows == 0) return std::nullopt;
  Relation r;
  const pg::Row first(result, 0);
  r.schema = first.text("nspname");
  r.name = first.text("relname");
  const int key_size = static_cast<int>(first.number("key_size"));
  r.primary_key.resize(key_size);
  for (int row = 0; row < rows && r.schema == pg::Row(result, row).text("nspname"); ++row) {
    const pg::Row attribute(result, row);
    const std::string column = attribute.text("attname");
    const int key_position = static_cast<int>(attribute.number("key_position"));
    const bool readable = attribute.flag("readable") && !sql::is_redacted_column(policy, column);
    if (readable) r.columns.push_back(column);
    if (key_position >= 1 && key_position <= key_size) {
      r.primary_key[key_position - 1] = column;
      if (!readable) r.primary_key_readable = false;
    }
  }
  // Every key column was seen above; should one not have been, no partial key is used.
  for (const auto& k : r.primary_key)
    if (k.empty()) r.primary_key_readable = false;
  return r;
}

core::Result<pg::Statement> select_statement(const std::string& model, const Relation& relation,
                                             const Selection& selection, const sql::Policy& policy) {
  pg::Statement st;
  st.sql = "SELECT " + select_list(relation) + " FROM " + qualified(relation);
  for (std::size_t i = 0; i < selection.filters.size(); ++i) {
    const Filter& f = selection.filters[i];
    if (auto ok = check_named_column(model, relation, f.column, "filter", policy); !ok) return ok.error();
    st.sql += i ? " AND " : " WHERE ";
    st.sql += sql::quote_identifier(f.column);
    if (f.value) {
      st.params.push_back(*f.value);
      st.sql += " = $" + std::to_string(st.params.size());
    } else {
      st.sql += " IS NULL";
    }
  }
  std::vector<std::string> order;
  if (!selection.order_by.empty()) {
    if (auto ok = check_named_column(model, relation, selection.order_by, "order", policy); !ok) return ok.error();
    order.push_back(sql::quote_identifier(selection.order_by) + (selection.descending ? " DESC" : ""));
  }
  // The primary key breaks ties, so offset pages neither repeat nor skip rows.
  if (relation.primary_key_readable)
    for (const auto& k : relation.primary_key)
      if (k != selection.order_by) order.push_back(sql::quote_identifier(k));
  for (std::size_t i = 0; i < order.size(); ++i) st.sql += (i ? ", " : " ORDER BY ") + order[i];
  st.params.push_back(std::to_string(selection.limit));
  st.sql += " LIMIT $" + std::to_string(st.params.size());
  st.params.push_back(std::to_string(selection.offset));
  st.sql += " OFFSET $" + std::to_string(st.params.size());
  return st;
}

core::Result<pg::Statement> get_statement(const std::string& model, const Relation& relation, std::string id) {
  if (relation.primary_key.empty())
    return make_error(ErrorKind::BadRequest,
                      "Model '" + model + "' has no primary key: use list with filters instead of get");
  if (relation.primary_key.size() > 1) {
    std::string key;
    for (const auto& k : relation.primary_key) key += (key.empty() ? "" : ", ") + k;
    return make_error(ErrorKind::BadRequest, "Model '" + model + "' has a composite primary key (" + key +
                                                 "): use list with filters instead of get");
  }
  if (!relation.primary_key_readable)
    return make_error(ErrorKind::Denied,
                      "Model '" + model + "': its primary key is not readable here; use list with filters");
  return pg::Statement{"SELECT " + select_list(relation) + " FROM " + qualified(relation) + " WHERE " +
                           sql::quote_identifier(relation.primary_key[0]) + " = $1",
                       {std::move(id)}};
}

}  // namespace fleetmcp::ws
