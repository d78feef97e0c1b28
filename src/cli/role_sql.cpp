#include <cctype>
#include <cstdio>

#include "cli/cli.hpp"
#include "ops/role_sql.hpp"

namespace fleetmcp::cli {

using config::Config;

int role_sql(const Config& config, const std::vector<std::string>& args) {
  ops::RoleSqlOptions options;
  options.schemas = config.readable_schemas;
  options.exclude_columns = config.redact_columns;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--role" && i + 1 < args.size()) {
      options.role = args[++i];
    } else if (args[i] == "--exclude-columns" && i + 1 < args.size()) {
      options.exclude_columns = config::split_list(args[++i]);
    } else if (args[i] == "--whole-table-grants") {
      options.whole_table_grants = true;
    } else {
      return fail("role-sql: unknown option '" + args[i] + "'; see fleetmcp --help");
    }
  }
  for (auto& c : options.exclude_columns)
    for (auto& ch : c) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (options.exclude_columns.empty() && !options.whole_table_grants)
    return fail(
        "role-sql: no sensitive columns to keep out (MCP_REDACT_COLUMNS or --exclude-columns is "
        "empty); pass --whole-table-grants to grant whole tables on purpose");
  if (options.whole_table_grants)
    std::fputs(
        "fleetmcp: WARNING: --whole-table-grants: the role will read every sensitive column "
        "(password_hash, api_key, ...), also through whole-row references such as row_to_json(t); "
        "without the flag, tables with such columns get column-level grants\n",
        stderr);
  std::fputs(ops::role_sql(options).c_str(), stdout);
  return 0;
}

}  // namespace fleetmcp::cli
