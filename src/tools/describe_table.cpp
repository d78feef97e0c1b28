// describe_table(schema, table): columns, types, nullability, defaults, comments.
#include "catalog/relations.hpp"
#include "tools/tool.hpp"

namespace fleetmcp::tools {

Tool make_describe_table_tool() {
  Tool t;
  t.name = "describe_table";
  t.title = "Describe a table or view";
  t.description =
      "Describe the columns of a table, view or materialized view: name, type, nullability, "
      "default and comment, in column order.";
  t.input_schema = {{"type", "object"},
                    {"properties",
                     {{"schema", {{"type", "string"}, {"maxLength", 128}, {"description", "schema name"}}},
                      {"table", {{"type", "string"}, {"maxLength", 128}, {"description", "table or view name"}}}}},
                    {"required", {"schema", "table"}}};
  const json nullable_string = {{"type", json::array({"string", "null"})}};
  t.output_schema = list_output_schema({{"column", {{"type", "string"}}},
                                        {"type", {{"type", "string"}}},
                                        {"nullable", {{"type", "string"}}},
                                        {"default", nullable_string},
                                        {"comment", nullable_string}});
  t.run = [](const json& args, CallContext& ctx) -> boost::asio::awaitable<core::Result<Output>> {
    auto schema = name_arg(args, "schema");
    if (!schema) co_return schema.error();
    auto table = name_arg(args, "table");
    if (!table) co_return table.error();
    if (auto ok = check_readable_schema(ctx.config, *schema); !ok) co_return ok.error();
    // The LEFT JOIN keeps one row for an existing relation without columns, so
    // "no such table" (zero rows) is told apart from "no columns".
    // (A named vector: g++ 12 miscompiles braced arguments to coroutines.)
    std::vector<std::string> params{*schema, *table};
    auto out = co_await catalog_rows(
        ctx,
        std::string("SELECT a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type, "
                    "CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END AS nullable, "
                    "pg_get_expr(d.adbin, d.adrelid) AS default, "
                    "col_description(c.oid, a.attnum) AS comment "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
                    "LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum "
                    "WHERE n.nspname = $1 AND c.relname = $2 AND " FLEETMCP_READABLE_RELATION " "
                    "ORDER BY a.attnum"),
        std::move(params));
    if (!out) co_return out;
    if (ctx.record.rows == 0)
      co_return core::make_error(core::ErrorKind::BadRequest, "no table or view named '" + *table + "' in schema '" +
                                                                  *schema + "'; list_tables shows what exists");
    if (out->structured.find("{\"column\":null") != std::string::npos) {
      out->structured = "{\"result\":[]}";
      ctx.record.rows = 0;
    }
    co_return out;
  };
  return t;
}

}  // namespace fleetmcp::tools
