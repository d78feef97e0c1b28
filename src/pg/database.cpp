#include "pg/database.hpp"

namespace fleetmcp::pg {

asio::awaitable<core::Result<RunOutput>> Database::run(Plan plan) {
  plan.statement_timeout_ms = settings_.statement_timeout_ms;
  for (int attempt = 0;; ++attempt) {
    auto lease = co_await pool_.acquire(Clock::now() + settings_.queue_timeout);
    if (!lease) co_return lease.error();
    const auto deadline = Clock::now() + std::chrono::milliseconds(plan.statement_timeout_ms) +
                          settings_.answer_grace;
    ++plans_sent_;
    auto outcome = co_await (*lease)->run(plan, deadline);
    if (auto* out = std::get_if<RunOutput>(&outcome)) co_return std::move(*out);
    auto& failure = std::get<RunFailure>(outcome);
    if (failure.connection_dead && failure.nothing_ran && attempt == 0) continue;
    if (failure.connection_dead && !failure.nothing_ran && failure.error.kind == core::ErrorKind::ConnectionLost)
      failure.error.message +=
          " (the statement may have started, so it was not retried; run it again)";
    co_return failure.error;
  }
}

}  // namespace fleetmcp::pg
