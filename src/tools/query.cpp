// query(sql, max_rows=1000): one guarded read, capped by a cursor.
#include <algorithm>

#include "tools/tool.hpp"

namespace fleetmcp::tools {

Tool make_query_tool() {
  Tool t;
  t.name = "query";
  t.title = "Run a read-only SQL query";
  t.description =
      "Run one read-only SELECT (WITH, VALUES, TABLE and set operations included) against the "
      "fleet database. The text is CSV: a header line with the column names, one line per row "
      "(an empty field is NULL, \"\" an empty string), and a footer line with the row count and, "
      "when rows were cut, which limit cut them and how to narrow the query. structuredContent "
      "holds the same rows as {row_count, truncated, rows} with rows as objects keyed by column. "
      "Returns at most max_rows rows (default 1000, capped by the server's MCP_MAX_ROWS) and at "
      "most what fits the server's text limit for a model; truncated is true when more rows "
      "existed. Aggregate or filter in SQL rather than fetching many rows. Writes, DDL, SET and "
      "side-effecting functions are rejected.";
  t.input_schema = {
      {"type", "object"},
      {"properties",
       {{"sql", {{"type", "string"}, {"maxLength", 65536}, {"description", "one SELECT statement (at most 64 KiB)"}}},
        {"max_rows",
         {{"type", "integer"}, {"default", 1000}, {"minimum", 1}, {"description", "most rows to return"}}}}},
      {"required", {"sql"}}};
  t.output_schema = rows_output_schema();
  t.text_budgeted = true;
  t.run = [](const json& args, CallContext& ctx) -> boost::asio::awaitable<core::Result<Output>> {
    auto sql = string_arg(args, "sql");
    if (!sql) co_return sql.error();
    auto max_rows = integer_arg(args, "max_rows", std::min<long long>(1000, ctx.config.max_rows));
    if (!max_rows) co_return max_rows.error();
    ctx.record.sql = *sql;
    co_return co_await guarded_rows(ctx, *sql, *max_rows);
  };
  return t;
}

}  // namespace fleetmcp::tools
