#include "app/app.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <future>

#include <malloc.h>

namespace fleetmcp::app {

#ifndef FLEETMCP_VERSION
#define FLEETMCP_VERSION "0.0.0-dev"
#endif

const char* version() { return FLEETMCP_VERSION; }

namespace {

// Replies of up to MCP_MAX_RESPONSE_BYTES are built and freed on every call.
// glibc's defaults would map each large one fresh and hand back each freed
// heap top at once, so every call paid a page fault per 4 KiB it wrote (half
// the server's CPU on a 10,000-row result). Freed memory is kept instead,
// and the pool's sweep gives it back after large calls (Pool::trim_memory_soon).
void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

pg::PoolSettings pool_settings(const config::Config& c) {
  pg::PoolSettings s;
  s.conninfo = c.database_url;
  s.max_connections = c.pool_max;
  s.connect_timeout = std::chrono::milliseconds(c.connect_timeout_ms);
  s.idle_timeout = std::chrono::seconds(c.pool_idle_timeout_s);
  s.max_lifetime = std::chrono::seconds(c.pool_max_lifetime_s);
  s.statement_timeout_ms = c.statement_timeout_ms;
  return s;
}

pg::DatabaseSettings database_settings(const config::Config& c) {
  pg::DatabaseSettings s;
  s.queue_timeout = std::chrono::milliseconds(c.queue_timeout_ms);
  s.statement_timeout_ms = c.statement_timeout_ms;
  s.max_read_bytes = c.max_response_bytes;
  return s;
}

}  // namespace

App::App(config::Config config, std::FILE* audit_out)
    : config_(std::move(config)),
      io_(std::make_unique<boost::asio::io_context>(config_.threads)),
      pool_(*io_, pool_settings(config_)),
      db_(pool_, database_settings(config_)),
      gate_(db_, config_, stderr),
      refresher_(*io_, db_, catalog_, {config_.redact_columns}, std::chrono::seconds(config_.catalog_refresh_s)),
      audit_(audit_out, config_.audit_sql_max),
      tokens_(config_.auth_tokens),
      dispatcher_(config_, db_, audit_, mcp::ServerInfo{"fleetmcp", version()}, &catalog_),
      records_(config_, db_, audit_),
      http_(std::make_unique<http::Server>(*io_, config_, dispatcher_, tokens_, db_, records_)) {
  keep_freed_memory();
  db_.set_admission([this] { return gate_.admit(); });
  dispatcher_.set_role_warnings([this] { return gate_.warnings(); });
}

core::Result<doctor::Report> App::self_audit() {
  // co_spawn's own future would need a default-constructible Result.
  std::promise<core::Result<doctor::Report>> done;
  auto answer = done.get_future();
  boost::asio::co_spawn(
      *io_, [this, &done]() -> boost::asio::awaitable<void> { done.set_value(co_await gate_.audit_now()); },
      boost::asio::detached);
  return answer.get();
}

App::~App() {
  stop();
  // Order matters: I/O objects must die before their io_context, and the
  // io_context (which destroys suspended coroutines, returning their leases to
  // the pool) before the pool.
  http_.reset();
  pool_.release_io_objects();
  refresher_.release_io_objects();
  io_.reset();
}

void App::start_catalog_refresh() { refresher_.start(); }

void App::start_loop() {
  if (!threads_.empty()) return;
  work_ = std::make_unique<decltype(work_)::element_type>(io_->get_executor());
  pool_.start();
  for (int i = 0; i < config_.threads; ++i) threads_.emplace_back([this] { io_->run(); });
}

core::Result<unsigned short> App::start_http() {
  auto port = http_->listen();
  if (!port) return port;
  http_->start();
  start_loop();
  return port;
}

void App::stop() {
  if (threads_.empty()) return;
  http_->stop();
  refresher_.stop();
  pool_.stop();
  work_.reset();
  io_->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace fleetmcp::app
