// Runs a Plan on a pooled connection: acquire with the queue deadline, run, and
// retry exactly once, on a newly opened connection, when the connection turned
// out dead before BEGIN completed (a backend terminated or timed out while
// idle, a restart between requests, a pooler that closed an idle client): its
// error, FATAL or a lost socket, came before anything of the plan ran. A
// statement that may have started is never re-run: its failure is reported as
// a lost connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "core/cancel.hpp"
#include "pg/pool.hpp"
#include "pg/runner.hpp"

namespace fleetmcp::pg {

struct DatabaseSettings {
  std::chrono::milliseconds queue_timeout{15000};
  int statement_timeout_ms = 30000;
  // Past statement_timeout, how long we still wait for the server before giving
  // the connection up as hung (network partition, stopped server).
  std::chrono::milliseconds answer_grace{10000};
  // The most bytes one caller's plan may read from PostgreSQL
  // (MCP_MAX_RESPONSE_BYTES; 0: no limit). See Plan::max_read_bytes.
  std::uint64_t max_read_bytes = 0;
};

// Past this many bytes read by one run, the allocator is asked to give freed
// memory back to the system (see Pool::trim_memory_soon).
inline constexpr std::uint64_t kTrimAfterReadBytes = 1 << 20;

class Database : public Runner {
 public:
  Database(Pool& pool, DatabaseSettings settings) : pool_(pool), settings_(settings) {}

  // `cancel` (may be null) stops the statement in PostgreSQL when fired: a
  // client that went away must not leave its query running.
  asio::awaitable<core::Result<RunOutput>> run(Plan plan, core::CancelPtr cancel = nullptr) override;
  // The same without the admission check: for the check's own statements.
  asio::awaitable<core::Result<RunOutput>> run_unchecked(Plan plan, core::CancelPtr cancel = nullptr);

  // A check every run() passes before its plan may reach PostgreSQL; the app
  // makes it the role self-audit (src/doctor), which may refuse every plan.
  // Set once, before the loop runs.
  using Admission = std::function<asio::awaitable<core::Status>()>;
  void set_admission(Admission admission) { admission_ = std::move(admission); }

  // Told, for each caller's plan that reached a connection, how long it
  // waited in the pool's queue and how long it ran (seconds). Set once, before
  // the loop runs.
  using PlanTimer = std::function<void(double queue_seconds, double run_seconds)>;
  void set_plan_timer(PlanTimer timer) { plan_timer_ = std::move(timer); }

  Pool& pool() { return pool_; }
  // Plans sent to PostgreSQL for callers so far (retries included): lets tests
  // prove that a rejected statement never reached the database, and feeds metrics.
  std::uint64_t plans_sent() const { return plans_sent_.load(); }
  int statement_timeout_ms() const { return settings_.statement_timeout_ms; }

 private:
  Pool& pool_;
  DatabaseSettings settings_;
  std::atomic<std::uint64_t> plans_sent_{0};
  Admission admission_;
  PlanTimer plan_timer_;
};

}  // namespace fleetmcp::pg
