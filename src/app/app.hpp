// A running fleetmcp: the event loop, pool, dispatcher and listener wired from
// one Config. main() and the integration tests both build servers through it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "audit/audit.hpp"
#include "auth/tokens.hpp"
#include "catalog/load.hpp"
#include "config/config.hpp"
#include "conformance/fixtures.hpp"
#include "doctor/gate.hpp"
#include "http/server.hpp"
#include "mcp/dispatcher.hpp"
#include "metrics/activity.hpp"
#include "metrics/metrics.hpp"
#include "oauth/verifier.hpp"
#include "pg/database.hpp"
#include "policy/policy.hpp"
#include "ratelimit/caller_limits.hpp"
#include "ws/session.hpp"

namespace fleetmcp::app {

const char* version();

class App {
 public:
  // audit_out: stdout for serve, stderr for stdio (stdout is the protocol there).
  // Throws std::runtime_error when MCP_POLICY_FILE cannot be read (main checks
  // it first with policy::Book::load, for a clean message).
  App(config::Config config, std::FILE* audit_out);
  ~App();

  // Starts the HTTP listener and N loop threads; returns the bound port.
  core::Result<unsigned short> start_http();
  // Runs the loop threads without a listener (stdio).
  void start_loop();
  // Loads the guard's catalog and keeps it fresh; until it is loaded, tool
  // calls wait for it. After the start-up self-audit, whose table comes first.
  void start_catalog_refresh();
  // Stops accepting, closes the pool and joins the loop threads.
  void stop();
  // The role self-audit, run now on the loop (start_loop first) and kept as
  // the gate's verdict; an error when the database cannot be reached, and then
  // the first plan audits.
  core::Result<doctor::Report> self_audit();

  // The first loop: the listener, the pool's sweep, the catalog refresher.
  boost::asio::io_context& io() { return *loops_.front(); }
  mcp::Dispatcher& dispatcher() { return dispatcher_; }
  pg::Pool& pool() { return pool_; }
  pg::Database& database() { return db_; }
  const config::Config& config() const { return config_; }
  doctor::Gate& gate() { return gate_; }
  ws::Endpoint& records() { return records_; }
  const policy::Book& policies() const { return book_; }
  const catalog::Store& catalog() const { return catalog_; }
  // What /metrics and /status show (rendered now).
  std::string metrics_text();
  std::string status_html();

 private:
  config::Config config_;
  // One event loop per thread (MCP_THREADS): a client connection and the
  // database connection serving it stay on one thread, with no hand-off
  // between threads and no locking inside the loop. Destroyed first, in ~App,
  // while everything their pending handlers (coroutine frames holding leases
  // and sockets) refer to is still alive.
  std::vector<std::unique_ptr<boost::asio::io_context>> loops_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  pg::Pool pool_;
  pg::Database db_;
  doctor::Gate gate_;       // every plan of db_ passes it first
  catalog::Store catalog_;  // what the guard judges calls by, kept fresh by refresher_
  catalog::Refresher refresher_;
  audit::Sink audit_;
  metrics::Metrics metrics_;    // fed by audit_, dispatcher_ and db_
  metrics::Activity activity_;  // the running calls and query shapes of /status
  auth::TokenStore tokens_;
  policy::Book book_;                                // MCP_POLICY_FILE, read once at start
  ratelimit::CallerLimits limits_;                   // per caller, shared by every transport
  std::unique_ptr<oauth::Verifier> oauth_;           // with MCP_OAUTH_ISSUERS
  std::unique_ptr<conformance::Fixtures> fixtures_;  // only with --conformance-fixtures
  mcp::Dispatcher dispatcher_;
  ws::Endpoint records_;  // the WebSocket record API
  std::unique_ptr<http::Server> http_;
  std::vector<std::thread> threads_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  metrics::Gauges gauges();
  // /readyz's probe: SELECT 1 as the server, through the pool.
  boost::asio::awaitable<core::Status> probe_database();
};

}  // namespace fleetmcp::app
