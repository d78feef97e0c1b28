// list_schemas(): the readable schemas and how many tables/views each holds.
#include "catalog/relations.hpp"
#include "pg/params.hpp"
#include "tools/tool.hpp"

namespace fleetmcp::tools {

Tool make_list_schemas_tool() {
  Tool t;
  t.name = "list_schemas";
  t.title = "List readable schemas";
  t.description = "List the readable schemas and how many tables, views and materialized views each holds.";
  t.input_schema = {{"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}};
  t.output_schema = list_output_schema({{"schema", {{"type", "string"}}}, {"objects", {{"type", "integer"}}}});
  t.run = [](const json&, CallContext& ctx) -> boost::asio::awaitable<core::Result<Output>> {
    // (A named vector: g++ 12 miscompiles braced arguments to coroutines.)
    std::vector<std::string> params{pg::text_array(ctx.config.readable_schemas)};
    co_return co_await catalog_rows(ctx,
                                    std::string("SELECT n.nspname AS schema, count(c.oid)::int AS objects "
                                                "FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid "
                                                "AND " FLEETMCP_READABLE_RELATION " "
                                                "WHERE n.nspname = ANY($1::text[]) "
                                                "GROUP BY 1 ORDER BY 1"),
                                    std::move(params));
  };
  return t;
}

}  // namespace fleetmcp::tools
