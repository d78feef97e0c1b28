// Runs a Plan on a pooled connection: acquire with the queue deadline, run, and
// retry exactly once when the connection turned out dead before anything ran
// (a reaped idle connection, a restart between requests). A statement that may
// have started is never re-run: its failure is reported as a lost connection.
#pragma once

#include "pg/pool.hpp"

namespace fleetmcp::pg {

struct DatabaseSettings {
  std::chrono::milliseconds queue_timeout{15000};
  int statement_timeout_ms = 30000;
  // Past statement_timeout, how long we still wait for the server before giving
  // the connection up as hung (network partition, stopped server).
  std::chrono::milliseconds answer_grace{10000};
};

class Database {
 public:
  Database(Pool& pool, DatabaseSettings settings) : pool_(pool), settings_(settings) {}

  asio::awaitable<core::Result<RunOutput>> run(Plan plan);

  Pool& pool() { return pool_; }
  int statement_timeout_ms() const { return settings_.statement_timeout_ms; }

 private:
  Pool& pool_;
  DatabaseSettings settings_;
};

}  // namespace fleetmcp::pg
