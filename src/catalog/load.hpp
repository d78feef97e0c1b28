// Loads the live catalog as the role sees it, through the same pool and
// read-only transaction as every call, and keeps it fresh: at start (retrying
// until the database answers), then on a schedule, and sooner when asked
// (the guard met a function it did not know).
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "pg/database.hpp"

namespace fleetmcp::catalog {

struct LoadOptions {
  std::vector<std::string> sensitive_columns;  // names, case-insensitive
  std::vector<std::string> readable_schemas;   // whose relations' coverage is read
};

// One load: functions the role may execute, operators and casts whose
// functions need judging, the search path, relations with sensitive columns.
boost::asio::awaitable<core::Result<std::shared_ptr<const Catalog>>> load(pg::Database& db, const LoadOptions& options);

// Runs `load` into `store` at start and every `every` (retrying every few
// seconds while the database is away); stop() ends the loop.
class Refresher {
 public:
  Refresher(boost::asio::io_context& io, pg::Database& db, Store& store, LoadOptions options,
            std::chrono::seconds every);
  void start();
  void stop();
  // Asks for a reload soon (at most one every few seconds).
  void request();
  // Destroys the timer and the strand: I/O objects must die before their io_context.
  void release_io_objects() {
    timer_.reset();
    strand_.reset();
  }

 private:
  boost::asio::awaitable<void> loop();

  // The loop, request() and stop() all touch timer_: one strand orders them.
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  std::optional<Strand> strand_;
  pg::Database& db_;
  Store& store_;
  LoadOptions options_;
  std::chrono::seconds every_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::atomic<bool> stopped_{false};
};

}  // namespace fleetmcp::catalog
