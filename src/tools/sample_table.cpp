// sample_table(schema, table, n=20): the first n rows, through the same guarded
// cursor path as query (the built statement is validated like any other).
// The select list comes from the catalog: the columns the role may read that
// are not sensitive. `SELECT *` would fail with 42501 on a table whose
// sensitive columns the role script keeps out with column-level grants.
#include <algorithm>

#include "catalog/relations.hpp"
#include "sql/guard.hpp"
#include "tools/tool.hpp"

namespace fleetmcp::tools {
namespace {

// One row per column, in column order, with whether the role may read it.
// Zero rows: no such relation (or one without columns).
constexpr const char* kColumnsSql =
    "SELECT a.attname, " FLEETMCP_READABLE_COLUMN
    " "
    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
    "WHERE n.nspname = $1 AND c.relname = $2 AND " FLEETMCP_READABLE_RELATION
    " "
    "ORDER BY a.attnum";

struct SelectList {
  std::string columns;                // quoted, comma-separated; empty: none readable
  std::vector<std::string> left_out;  // sensitive, or not granted to the role
};

SelectList select_list(const PGresult* result, const sql::Policy& policy) {
  SelectList out;
  for (int row = 0; row < PQntuples(result); ++row) {
    const std::string column = PQgetvalue(result, row, 0);
    const bool granted = PQgetvalue(result, row, 1)[0] == 't';
    if (granted && !sql::is_redacted_column(policy, column)) {
      out.columns += (out.columns.empty() ? "" : ", ") + sql::quote_identifier(column);
    } else {
      out.left_out.push_back(column);
    }
  }
  return out;
}

}  // namespace

Tool make_sample_table_tool() {
  Tool t;
  t.name = "sample_table";
  t.title = "Sample rows of a table or view";
  t.description =
      "Return the first n rows (default 20) of a table, view or materialized view: as CSV text "
      "(a header line, one line per row, an empty field for NULL and \"\" for an empty string, a "
      "footer line) and as {row_count, truncated, rows} in structuredContent. Columns the role may not "
      "read (sensitive ones) are left out and named in the footer and in redacted_columns.";
  t.input_schema = {
      {"type", "object"},
      {"properties",
       {{"schema", {{"type", "string"}, {"maxLength", 128}, {"description", "schema name"}}},
        {"table", {{"type", "string"}, {"maxLength", 128}, {"description", "table or view name"}}},
        {"n", {{"type", "integer"}, {"default", 20}, {"minimum", 1}, {"description", "rows to return"}}}}},
      {"required", {"schema", "table"}}};
  t.output_schema = rows_output_schema();
  t.text_budgeted = true;
  t.run = [](const json& args, CallContext& ctx) -> boost::asio::awaitable<core::Result<Output>> {
    auto schema = name_arg(args, "schema");
    if (!schema) co_return schema.error();
    auto table = name_arg(args, "table");
    if (!table) co_return table.error();
    auto n = integer_arg(args, "n", std::min<long long>(20, ctx.config.max_rows));
    if (!n) co_return n.error();
    if (auto ok = check_readable_schema(ctx.config, *schema); !ok) co_return ok.error();

    pg::Plan plan = caller_plan(ctx);
    // (A named vector: g++ 12 miscompiles braced arguments to coroutines.)
    std::vector<std::string> params{*schema, *table};
    plan.statements.push_back({kColumnsSql, std::move(params)});
    auto described = co_await ctx.db.run(std::move(plan), ctx.cancel);
    if (!described) co_return described.error();
    const SelectList list = select_list(described->results.at(0).get(), ctx.policy);

    // Nothing readable (or no such relation): `*` lets PostgreSQL say why, as
    // 42P01 or 42501, instead of a guess here.
    const std::string sql = "SELECT " + (list.columns.empty() ? std::string("*") : list.columns) + " FROM " +
                            sql::quote_identifier(*schema) + "." + sql::quote_identifier(*table);
    ctx.record.sql = sql;
    // Columns never selected are named beside the ones the result hid.
    co_return co_await guarded_rows(ctx, sql, *n, list.columns.empty() ? nullptr : &list.left_out);
  };
  return t;
}

}  // namespace fleetmcp::tools
