// list_functions(schema="reporting"): callable functions with their signatures.
#include "tools/tool.hpp"

namespace fleetmcp::tools {

Tool make_list_functions_tool() {
  Tool t;
  t.name = "list_functions";
  t.title = "List functions of a schema";
  t.description =
      "List the functions of a readable schema (default 'reporting', e.g. its fn_* functions) "
      "with their arguments and return type, so they can be called from query.";
  t.input_schema = {
      {"type", "object"},
      {"properties",
       {{"schema",
         {{"type", "string"}, {"maxLength", 128}, {"default", "reporting"}, {"description", "schema name"}}}}}};
  t.output_schema = list_output_schema({{"name", {{"type", "string"}}},
                                        {"args", {{"type", "string"}}},
                                        {"returns", {{"type", json::array({"string", "null"})}}}});
  t.run = [](const json& args, CallContext& ctx) -> boost::asio::awaitable<core::Result<Output>> {
    auto schema = name_arg(args, "schema", "reporting");
    if (!schema) co_return schema.error();
    if (auto ok = check_readable_schema(ctx.config, *schema); !ok) co_return ok.error();
    // (A named vector: g++ 12 miscompiles braced arguments to coroutines.)
    std::vector<std::string> params{*schema};
    co_return co_await catalog_rows(ctx,
                                    std::string("SELECT p.proname AS name, pg_get_function_arguments(p.oid) AS args, "
                                                "pg_get_function_result(p.oid) AS returns "
                                                "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                                                "WHERE n.nspname = $1 ORDER BY 1, 2"),
                                    std::move(params));
  };
  return t;
}

}  // namespace fleetmcp::tools
