#include "sql/guard.hpp"

namespace fleetmcp::sql {

// The MCP tools, the record API and check-sql all judge SQL by this one.
Policy policy_from(const config::Config& config, const catalog::Store* catalog) {
  return {config.enforce_schemas, config.readable_schemas, config.redact_columns, catalog};
}

}  // namespace fleetmcp::sql
