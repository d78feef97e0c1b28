// The database path under pressure and faults: a full pool, dead connections,
// timeouts, idle and lifetime limits, a database that is down at start.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>

#include "harness.hpp"
#include "pg/pool.hpp"

namespace fleetmcp::testing {
namespace {

int backend_pid(TestServer& server) {
  json r = server.call_tool("query", {{"sql", "SELECT pg_backend_pid() AS pid"}});
  return r["structuredContent"]["rows"][0]["pid"];
}

// Runs `task` on `io` until it finishes; its result.
template <class T>
T run_on(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> out;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await std::move(task)); },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.restart();
  io.run();
  return std::move(*out);
}

// Each slot's state, as the pool moves it: reserved to connecting to leased,
// leased to idle on return, a dead connection's slot freed, and a waiter
// handed the returned connection without a new slot.
TEST(Pool, EverySlotIsInOneStateTheCountsCanBeAssertedOn) {
  boost::asio::io_context io;
  pg::Pool pool(io, {.conninfo = cluster().database_url, .max_connections = 2});
  auto lease = [&](std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    return run_on(io, pool.acquire(pg::Clock::now() + wait));
  };
  auto first = lease(), second = lease();
  ASSERT_TRUE(first && second);
  auto s = pool.stats();
  EXPECT_EQ(s.leased, 2);
  EXPECT_EQ(s.open, 2);
  EXPECT_EQ(s.idle + s.reserved + s.connecting, 0);
  EXPECT_EQ(s.opened, 2u);
  // Full: a third waits and times out, taking no slot.
  auto third = lease(std::chrono::milliseconds(50));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().kind, core::ErrorKind::Busy);
  EXPECT_EQ(pool.stats().open, 2);
  { auto returned = std::move(*first); }  // back to the pool: idle
  s = pool.stats();
  EXPECT_EQ(s.leased, 1);
  EXPECT_EQ(s.idle, 1);
  auto again = lease();  // the idle one, not a new one
  ASSERT_TRUE(again);
  EXPECT_EQ(pool.stats().opened, 2u);
  EXPECT_EQ(pool.stats().leased, 2);
  // Stopped, the pool closes what comes back: the slots are freed.
  pool.stop();
  { auto returned = std::move(*again); }
  { auto returned = std::move(*second); }
  s = pool.stats();
  EXPECT_EQ(s.open, 0);
  EXPECT_EQ(s.closed, 2u);
  pool.release_io_objects();

  // A connection past its lifetime frees its slot when it comes back.
  pg::Pool short_lived(
      io, {.conninfo = cluster().database_url, .max_connections = 1, .max_lifetime = std::chrono::seconds(0)});
  {
    auto only = run_on(io, short_lived.acquire(pg::Clock::now() + std::chrono::seconds(10)));
    ASSERT_TRUE(only);
    EXPECT_EQ(short_lived.stats().leased, 1);
  }
  s = short_lived.stats();
  EXPECT_EQ(s.open, 0);
  EXPECT_EQ(s.closed, 1u);
  short_lived.stop();
  short_lived.release_io_objects();
}

TEST(Pool, MoreCallsThanConnectionsQueueAndAllSucceed) {
  const std::string tag = test_tag("fleetmcp-pool-queue");
  TestServer server([&](config::Config& c) {
    c.database_url = tagged_url(tag);
    c.pool_max = 4;
  });
  Admin admin;
  // The pool's own count, and PostgreSQL's when nothing pools in between
  // (behind PgBouncer a server connection keeps the last client's tag).
  std::atomic<int> succeeded{0}, peak{0}, peak_open{0};
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done) {
      peak_open = std::max(peak_open.load(), static_cast<int>(server.app().pool().stats().open));
      if (!cluster().through_pooler) peak = std::max(peak.load(), backends(admin, tag));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::vector<std::thread> callers;
  for (int i = 0; i < 100; ++i)
    callers.emplace_back([&] {
      json r = server.call_tool("query", {{"sql", "SELECT count(*) AS n FROM generate_series(1, 200000)"}});
      if (r["isError"] == false && r["structuredContent"]["rows"][0]["n"] == 200000) ++succeeded;
    });
  for (auto& t : callers) t.join();
  done = true;
  watcher.join();
  EXPECT_EQ(succeeded, 100);
  EXPECT_LE(peak_open, 4);
  EXPECT_GE(peak_open, 1);
  if (!cluster().through_pooler) {
    EXPECT_LE(peak, 4);
    EXPECT_GE(peak, 1);
  }
}

TEST(Pool, QueueDeadlineGivesAClearBusyError) {
  const std::string tag = test_tag("fleetmcp-pool-deadline");
  TestServer server([&](config::Config& c) {
    c.database_url = tagged_url(tag);
    c.pool_max = 1;
    c.queue_timeout_ms = 200;
    c.statement_timeout_ms = 3000;  // ends the slow call below
  });
  std::thread slow([&] {
    server.call_tool("query",
                     {{"sql", "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b"}});
  });
  // Wait until the slow call runs on the only connection, then queue behind it.
  Admin admin;
  const bool holding = eventually([&] { return query_running(admin, tag); });
  json r = server.call_tool("query", {{"sql", "SELECT 1"}});
  slow.join();
  ASSERT_TRUE(holding);
  EXPECT_EQ(r["isError"], true);
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("server busy"), std::string::npos) << r.dump();
  // Nothing leaked: the pool serves again.
  EXPECT_EQ(server.call_tool("query", {{"sql", "SELECT 1 AS one"}})["isError"], false);
}

TEST(Pool, TerminatedConnectionsAreReplacedInvisibly) {
  const std::string tag = test_tag("fleetmcp-pool-reaped");
  TestServer server([&](config::Config& c) {
    c.database_url = tagged_url(tag);
    c.pool_max = 1;
  });
  const int first = backend_pid(server);
  Admin admin;
  // By pid: behind PgBouncer the backend that served us need not carry our tag.
  admin.exec("SELECT pg_terminate_backend(" + std::to_string(first) + ")");
  ASSERT_TRUE(eventually([&] {
    return admin.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(first)) == "0";
  }));
  // The pooled connection is dead; the next call must not show it.
  json r = server.call_tool("query", {{"sql", "SELECT pg_backend_pid() AS pid"}});
  ASSERT_EQ(r["isError"], false) << r.dump();
  EXPECT_NE(r["structuredContent"]["rows"][0]["pid"].get<int>(), first);
}

TEST(Pool, StatementTimeoutIsAnErrorButTheConnectionStays) {
  TestServer server([&](config::Config& c) {
    c.pool_max = 1;
    c.statement_timeout_ms = 300;
  });
  const int pid = backend_pid(server);
  json r = server.call_tool(
      "query", {{"sql", "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b"}});
  EXPECT_EQ(r["isError"], true);
  const std::string text = r["content"][0]["text"];
  EXPECT_NE(text.find("statement timeout (300 ms)"), std::string::npos) << text;
  EXPECT_EQ(backend_pid(server), pid);  // 57014 is not a disconnect: same backend
}

TEST(Pool, IdleConnectionsAreClosedAndOldOnesReplaced) {
  const std::string tag = test_tag("fleetmcp-pool-idle");
  TestServer server([&](config::Config& c) {
    c.database_url = tagged_url(tag);
    c.pool_idle_timeout_s = 1;
  });
  Admin admin;
  backend_pid(server);
  EXPECT_EQ(backends(admin, tag), 1);
  EXPECT_TRUE(eventually([&] { return backends(admin, tag) == 0; }));  // none held while idle

  TestServer aging([&](config::Config& c) {
    c.pool_max = 1;
    c.pool_max_lifetime_s = 1;
  });
  const int first = backend_pid(aging);
  EXPECT_TRUE(eventually([&] { return backend_pid(aging) != first; }));
}

// A loopback port nobody listens on right now (the kernel's choice).
int unused_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(Pool, DatabaseDownAtStartThenUp) {
  const std::string password = "later-password-1";
  // Another process may take the port before the cluster does: then try another.
  for (int attempt = 0; attempt < 5; ++attempt) {
    const int port = unused_port();
    TestServer server([&](config::Config& c) {
      c.database_url =
          "postgresql://analytics_ro:" + password + "@127.0.0.1:" + std::to_string(port) + "/tracksolid_db";
      c.connect_timeout_ms = 1000;
    });
    EXPECT_EQ(http_request(server.port(), "GET", "/healthz").status, 200);
    auto ready = http_request(server.port(), "GET", "/readyz");
    EXPECT_EQ(ready.status, 503);
    EXPECT_EQ(ready.json_body()["reason"], "the database is unreachable");
    EXPECT_NE(ready.json_body()["detail"].get<std::string>().find("Connection refused"), std::string::npos);
    json r = server.call_tool("list_schemas", json::object());
    EXPECT_EQ(r["isError"], true);
    EXPECT_NE(r["content"][0]["text"].get<std::string>().find("Database unavailable"), std::string::npos);

    const std::string dir = "/tmp/fleetmcp-late-" + std::to_string(getpid()) + "-" + std::to_string(attempt);
    const std::string start = "PG_CLUSTER_PORT=" + std::to_string(port) + " PG_CLUSTER_RO_PASSWORD=" + password +
                              " bash " + FLEETMCP_HARNESS + " start " + dir + " " + FLEETMCP_FIXTURE +
                              " >/dev/null 2>&1";
    if (std::system(start.c_str()) != 0) {
      std::system(("bash " + std::string(FLEETMCP_HARNESS) + " stop " + dir).c_str());
      continue;
    }
    json later = server.call_tool("list_schemas", json::object());
    EXPECT_EQ(later["isError"], false) << later.dump();
    // /readyz answers from its last probe, refreshed when a check finds it stale.
    EXPECT_TRUE(eventually([&] { return http_request(server.port(), "GET", "/readyz").status == 200; }));
    std::system(("bash " + std::string(FLEETMCP_HARNESS) + " stop " + dir).c_str());
    return;
  }
  FAIL() << "no free port held long enough to start a cluster on it";
}

}  // namespace
}  // namespace fleetmcp::testing
