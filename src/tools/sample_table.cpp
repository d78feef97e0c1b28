// sample_table(schema, table, n=20): the first n rows, through the same guarded
// cursor path as query (the built statement is validated like any other).
#include "sql/guard.hpp"
#include "tools/tool.hpp"

namespace fleetmcp::tools {

Tool make_sample_table_tool() {
  Tool t;
  t.name = "sample_table";
  t.title = "Sample rows of a table or view";
  t.description =
      "Return the first n rows (default 20) of a table, view or materialized view as "
      "{row_count, truncated, rows}.";
  t.input_schema = {
      {"type", "object"},
      {"properties",
       {{"schema", {{"type", "string"}, {"description", "schema name"}}},
        {"table", {{"type", "string"}, {"description", "table or view name"}}},
        {"n", {{"type", "integer"}, {"default", 20}, {"minimum", 1}, {"description", "rows to return"}}}}},
      {"required", {"schema", "table"}}};
  t.output_schema = rows_output_schema();
  t.run = [](const json& args, CallContext& ctx) -> boost::asio::awaitable<core::Result<Output>> {
    auto schema = string_arg(args, "schema");
    if (!schema) co_return schema.error();
    auto table = string_arg(args, "table");
    if (!table) co_return table.error();
    auto n = integer_arg(args, "n", 20);
    if (!n) co_return n.error();
    if (auto ok = check_readable_schema(ctx.config, *schema); !ok) co_return ok.error();
    const std::string sql =
        "SELECT * FROM " + sql::quote_identifier(*schema) + "." + sql::quote_identifier(*table);
    ctx.record.sql = sql;
    co_return co_await guarded_rows(ctx, sql, *n);
  };
  return t;
}

}  // namespace fleetmcp::tools
