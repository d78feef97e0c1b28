// Operator tooling that needs no server: the read-only role's DDL generated
// from the configuration.
#pragma once

#include <string>
#include <vector>

namespace fleetmcp::ops {

struct RoleSqlOptions {
  std::string role = "analytics_ro";
  std::vector<std::string> schemas;          // MCP_READABLE_SCHEMAS
  std::vector<std::string> exclude_columns;  // lower case; column-level grants keep these unreadable
  // The opt-out: SELECT on whole tables, sensitive columns included. An empty
  // exclude_columns means the same; the script then carries a warning.
  bool whole_table_grants = false;
};

// psql script (takes the password, or its verifier, as the psql variable ro_pw): creates or updates the
// role, grants exactly the read surface, keys default privileges to each
// schema's owner, and on tables with excluded columns grants SELECT on the
// other columns only, so even whole-row references cannot read them.
// Re-applying it computes the same grants from the catalog: never wider.
std::string role_sql(const RoleSqlOptions& options);

}  // namespace fleetmcp::ops
