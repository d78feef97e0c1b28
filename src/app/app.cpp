#include "app/app.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <ctime>
#include <future>

#include "status/page.hpp"

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

std::vector<std::unique_ptr<boost::asio::io_context>> make_loops(int threads) {
  std::vector<std::unique_ptr<boost::asio::io_context>> loops;
  for (int i = 0; i < std::max(threads, 1); ++i) {
    loops.push_back(std::make_unique<boost::asio::io_context>(1));
    // A loop's reactor (three descriptors: epoll, eventfd, timerfd) is made
    // by its first I/O object. Made now: were the first one a connection
    // accepted while out of descriptors (EMFILE), making it would throw and
    // end the accept loop for good.
    boost::asio::ip::tcp::socket first(*loops.back());
  }
  return loops;
}

std::vector<boost::asio::io_context*> pointers(const std::vector<std::unique_ptr<boost::asio::io_context>>& loops) {
  std::vector<boost::asio::io_context*> out;
  for (const auto& l : loops) out.push_back(l.get());
  return out;
}

pg::PoolSettings pool_settings(const config::Config& c) {
  pg::PoolSettings s;
  s.conninfo = c.database_url;
  s.max_connections = c.pool_max;
  s.connect_timeout = std::chrono::milliseconds(c.connect_timeout_ms);
  s.idle_timeout = std::chrono::seconds(c.pool_idle_timeout_s);
  s.max_lifetime = std::chrono::seconds(c.pool_max_lifetime_s);
  s.statement_timeout_ms = c.statement_timeout_ms;
  s.timezone = c.timezone;
  s.log = [](const std::string& line) { std::fprintf(stderr, "fleetmcp: %s\n", line.c_str()); };
  return s;
}

pg::DatabaseSettings database_settings(const config::Config& c) {
  pg::DatabaseSettings s;
  s.queue_timeout = std::chrono::milliseconds(c.queue_timeout_ms);
  s.statement_timeout_ms = c.statement_timeout_ms;
  s.max_read_bytes = c.max_response_bytes;
  return s;
}

policy::Book load_policies(const config::Config& c) {
  if (c.policy_file.empty()) return policy::Book(c);
  auto book = policy::Book::load(c.policy_file, c);
  if (!book) throw std::runtime_error(book.error().message);
  return std::move(*book);
}

void log_line(const std::string& line) { std::fprintf(stderr, "fleetmcp: %s\n", line.c_str()); }

}  // namespace

App::App(config::Config config, std::FILE* audit_out)
    : config_(std::move(config)),
      loops_(make_loops(config_.threads)),
      pool_(io(), pool_settings(config_)),
      db_(pool_, database_settings(config_)),
      gate_(db_, config_, stderr, &book_),  // book_ is built below; the gate reads it only once serving
      refresher_(io(), db_, catalog_, {config_.redact_columns, config_.readable_schemas},
                 std::chrono::seconds(config_.catalog_refresh_s)),
      audit_(audit_out, config_.audit_sql_max),
      metrics_(version()),
      tokens_(config_.auth_tokens),
      book_(load_policies(config_)),
      oauth_(config_.oauth.enabled() ? std::make_unique<oauth::Verifier>(config_.oauth, log_line) : nullptr),
      fixtures_(config_.conformance_fixtures ? std::make_unique<conformance::Fixtures>() : nullptr),
      dispatcher_(config_, db_, audit_, mcp::ServerInfo{"fleetmcp", version()}, &catalog_),
      records_(config_, db_, audit_),
      http_(std::make_unique<http::Server>(
          pointers(loops_), config_, dispatcher_, tokens_, [this] { return probe_database(); }, records_, audit_)) {
  keep_freed_memory();
  db_.set_admission([this] { return gate_.admit(); });
  dispatcher_.set_role_warnings([this] { return gate_.warnings(); });
  dispatcher_.set_telemetry(metrics_, activity_);
  dispatcher_.set_policy(book_, limits_);
  if (fixtures_) dispatcher_.set_extension(*fixtures_);
  records_.set_policy(book_, limits_);
  http_->set_caller_limits(limits_);
  if (oauth_) {
    http_->set_oauth(*oauth_);
    oauth_->start(io().get_executor());
  }
  audit_.observe(
      [this](const audit::Record& r) {
        if (r.kind != "tool_call") return;  // resource reads and completions: the audit log alone
        metrics_.tool_call(r);
        activity_.finished(r);
      },
      [this] { metrics_.unauthorized(); });
  db_.set_plan_timer([this](double queued, double ran) { metrics_.plan(queued, ran); });
  http_->set_operator_pages({[this] { return metrics_text(); }, [this] { return status_html(); }});
}

boost::asio::awaitable<core::Status> App::probe_database() {
  pg::Plan plan;
  plan.statements.push_back({"SELECT 1", {}});
  plan.for_caller = false;
  auto ran = co_await db_.run(std::move(plan));
  if (!ran) co_return ran.error();
  co_return core::ok_status();
}

metrics::Gauges App::gauges() {
  const pg::PoolStats pool = pool_.stats();
  metrics::Gauges g;
  g.pool_max = config_.pool_max;
  g.pool_idle = pool.idle;
  g.pool_busy = pool.busy();
  g.pool_connecting = pool.connecting;
  g.pool_waiting = pool.waiting;
  g.pool_opened = pool.opened;
  g.pool_closed = pool.closed;
  g.pool_connect_failures = pool.connect_failures;
  g.login_refused = pool.login_refused;
  g.http_connections = http_->connections();
  g.websocket_connections = static_cast<int>(records_.sessions());
  if (const auto report = gate_.report()) {
    g.role_findings = static_cast<int>(report->findings.size());
    g.role_unsafe = report->unsafe();
  }
  return g;
}

std::string App::metrics_text() {
  std::string out;
  metrics_.render(out, gauges());
  return out;
}

std::string App::status_html() {
  status::View v;
  v.version = version();
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  v.now_utc = text;
  v.uptime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  v.gauges = gauges();
  v.running = activity_.running();
  constexpr std::size_t kShapesShown = 10;
  v.by_time = activity_.heaviest(true, kShapesShown);
  v.by_count = activity_.heaviest(false, kShapesShown);
  v.shapes = activity_.shapes();
  v.shapes_evicted = activity_.evicted_in_window();
  v.analysts = metrics_.analysts();
  v.rejections_by_rule = metrics_.rejections();
  v.recent_rejections = activity_.recent_rejections();
  if (const auto report = gate_.report()) {
    v.role.done = true;
    v.role.role = report->role;
    v.role.database = report->database;
    for (const auto& f : report->findings)
      v.role.findings.push_back({f.severity == doctor::Severity::Unsafe ? "unsafe" : "warning", f.kind, f.what});
  }
  return status::render(v);
}

core::Result<doctor::Report> App::self_audit() {
  // co_spawn's own future would need a default-constructible Result.
  std::promise<core::Result<doctor::Report>> done;
  auto answer = done.get_future();
  boost::asio::co_spawn(
      io(), [this, &done]() -> boost::asio::awaitable<void> { done.set_value(co_await gate_.audit_now()); },
      boost::asio::detached);
  return answer.get();
}

App::~App() {
  stop();
  // Order matters: I/O objects must die before their io_context, and the
  // io_contexts (which destroy suspended coroutines, returning their leases to
  // the pool) before the pool. The first loop goes last: a connection's
  // coroutine on another loop may hold the last reference to the listener,
  // whose acceptor lives on the first. (A connection, leased or handed to a
  // waiter, is bound to its holder's loop, so it never reaches across.)
  http_.reset();
  pool_.release_io_objects();
  refresher_.release_io_objects();
  while (!loops_.empty()) loops_.pop_back();
}

void App::start_catalog_refresh() { refresher_.start(); }

void App::start_loop() {
  if (!threads_.empty()) return;
  for (auto& loop : loops_) work_.push_back(boost::asio::make_work_guard(*loop));
  pool_.start();
  for (auto& loop : loops_) threads_.emplace_back([&loop = *loop] { loop.run(); });
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
  work_.clear();
  for (auto& loop : loops_) loop->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace fleetmcp::app
