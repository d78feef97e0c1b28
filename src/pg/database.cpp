#include "pg/database.hpp"

namespace fleetmcp::pg {

asio::awaitable<core::Result<RunOutput>> Database::run(Plan plan, core::CancelPtr cancel) {
  if (admission_) {
    auto admitted = co_await admission_();
    if (!admitted) co_return admitted.error();
  }
  co_return co_await run_unchecked(std::move(plan), std::move(cancel));
}

asio::awaitable<core::Result<RunOutput>> Database::run_unchecked(Plan plan, core::CancelPtr cancel) {
  if (plan.statement_timeout_ms <= 0) plan.statement_timeout_ms = settings_.statement_timeout_ms;
  // The server's own plans (the catalog) are not bounded by a caller's reply.
  if (plan.for_caller && !plan.max_read_bytes) plan.max_read_bytes = settings_.max_read_bytes;
  bool retried = false;  // once, on a new connection, when a dead one ran nothing
  while (true) {
    if (cancel && cancel->cancelled()) co_return cancelled_error();
    // The retry takes a new connection: the idle ones may have died the same
    // way (a restart, idle_session_timeout, a pooler's client_idle_timeout).
    const auto queued = Clock::now();
    auto lease = co_await pool_.acquire(queued + settings_.queue_timeout, cancel, /*fresh=*/retried);
    if (!lease) co_return lease.error();
    const auto leased = Clock::now();
    if (cancel && cancel->cancelled()) co_return cancelled_error();
    const auto deadline = Clock::now() + std::chrono::milliseconds(plan.statement_timeout_ms) + settings_.answer_grace;
    if (plan.for_caller) ++plans_sent_;
    Connection* conn = &**lease;
    if (cancel) cancel->on_cancel([conn] { conn->cancel(); });
    auto outcome = co_await conn->run(plan, deadline);
    if (plan_timer_ && plan.for_caller)
      plan_timer_(std::chrono::duration<double>(leased - queued).count(),
                  std::chrono::duration<double>(Clock::now() - leased).count());
    // After clear() the action can no longer run, so the connection may go back.
    if (cancel) cancel->clear();
    if (conn->last_run_read_bytes() > kTrimAfterReadBytes) pool_.trim_memory_soon();
    if (auto* out = std::get_if<RunOutput>(&outcome)) co_return std::move(*out);
    auto& failure = std::get<RunFailure>(outcome);
    if (failure.over_read_limit && plan.rows_at_once) {
      // Nothing was handed over: again, one row at a time, in the time left.
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - settings_.answer_grace - Clock::now())
              .count();
      if (left > 0) {
        plan.rows_at_once = false;
        plan.whole_timeout_ms = plan.statement_timeout_ms;
        plan.statement_timeout_ms = static_cast<int>(std::min<long long>(left, plan.statement_timeout_ms));
        continue;
      }
    }
    if (failure.over_read_limit)
      failure.error.message = "the result is larger than the server's response limit (MCP_MAX_RESPONSE_BYTES = " +
                              std::to_string(plan.max_read_bytes) +
                              " bytes), so the server stopped reading it: select fewer or narrower columns, aggregate, "
                              "or cut wide values with left(column, 1000) or substring(column from 1 for 1000)";
    if (failure.connection_dead && failure.nothing_ran && !retried) {
      retried = true;
      continue;
    }
    if (failure.connection_dead && !failure.nothing_ran && failure.error.kind == core::ErrorKind::ConnectionLost)
      failure.error.message += " (the statement may have started, so it was not retried; run it again)";
    co_return failure.error;
  }
}

}  // namespace fleetmcp::pg
