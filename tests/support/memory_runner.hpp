// A database that answers without one, for the JSON-RPC core's unit tests and
// fuzzer: each statement of a plan gets an empty result (no columns, no
// rows), or the whole plan gets the one error it was told to give. Nothing
// here stands in for PostgreSQL's behaviour; tests of that use the cluster.
#pragma once

#include <libpq-fe.h>

#include <optional>

#include "pg/runner.hpp"

namespace fleetmcp::testing {

class MemoryRunner : public pg::Runner {
 public:
  std::optional<core::Error> fail;
  int plans = 0;

  boost::asio::awaitable<core::Result<pg::RunOutput>> run(pg::Plan plan, core::CancelPtr) override {
    ++plans;
    if (fail) co_return *fail;
    pg::RunOutput out;
    for (std::size_t i = 0; i < plan.statements.size(); ++i)
      out.results.emplace_back(PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK));
    co_return out;
  }
};

}  // namespace fleetmcp::testing
