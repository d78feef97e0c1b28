// list_tables(schema): tables, views and materialized views of one schema.
#include "catalog/relations.hpp"
#include "tools/tool.hpp"

namespace fleetmcp::tools {

Tool make_list_tables_tool() {
  Tool t;
  t.name = "list_tables";
  t.title = "List tables and views of a schema";
  t.description =
      "List the tables, views and materialized views of one readable schema, with their kind "
      "and estimated row count.";
  t.input_schema = {
      {"type", "object"},
      {"properties", {{"schema", {{"type", "string"}, {"maxLength", 128}, {"description", "schema name"}}}}},
      {"required", {"schema"}}};
  t.output_schema = list_output_schema({{"name", {{"type", "string"}}},
                                        {"kind", {{"type", "string"}}},
                                        {"estimated_rows", {{"type", json::array({"integer", "null"})}}}});
  t.run = [](const json& args, CallContext& ctx) -> boost::asio::awaitable<core::Result<Output>> {
    auto schema = name_arg(args, "schema");
    if (!schema) co_return schema.error();
    if (auto ok = check_readable_schema(ctx.config, *schema); !ok) co_return ok.error();
    // (A named vector: g++ 12 miscompiles braced arguments to coroutines.)
    std::vector<std::string> params{*schema};
    co_return co_await catalog_rows(
        ctx,
        std::string("SELECT c.relname AS name, "
                    "CASE c.relkind WHEN 'r' THEN 'BASE TABLE' WHEN 'p' THEN 'BASE TABLE' "
                    "WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'FOREIGN TABLE' END AS kind, "
                    "CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END AS estimated_rows "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = $1 AND " FLEETMCP_READABLE_RELATION " "
                    "ORDER BY 1"),
        std::move(params));
  };
  return t;
}

}  // namespace fleetmcp::tools
