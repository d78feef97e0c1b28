// What the MCP core, the tools and the resources need of the database: run one
// plan. pg::Database is the real one (pool, retry, admission); the JSON-RPC
// fuzzer gives the core one that answers without a database.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "core/cancel.hpp"
#include "core/result.hpp"
#include "pg/connection.hpp"

namespace fleetmcp::pg {

class Runner {
 public:
  virtual ~Runner() = default;
  // `cancel` (may be null) stops the statement in PostgreSQL when fired.
  virtual boost::asio::awaitable<core::Result<RunOutput>> run(Plan plan, core::CancelPtr cancel) = 0;
};

}  // namespace fleetmcp::pg
