// Faults injected into a real PostgreSQL: a restart under load, a standby that
// goes away, a queue served in order, pooled connections ended while idle.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

using Clock = std::chrono::steady_clock;

TEST(Faults, DatabaseRestartUnderLoadRecoversWithoutAServerRestart) {
  OwnCluster db;
  TestServer server([&](config::Config& c) {
    c.database_url = db.env().database_url;
    c.connect_timeout_ms = 1000;
  });
  struct Outcome {
    Clock::time_point at;
    bool ok;
    std::string text;
  };
  std::mutex mu;
  std::vector<Outcome> outcomes;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < 16; ++i)
    clients.emplace_back([&] {
      while (!stop) {
        json r = server.call_tool("query", {{"sql", "SELECT count(*) AS n FROM tracksolid.positions"}});
        const bool ok = r["isError"] == false && r["structuredContent"]["rows"][0]["n"] == 3000;
        std::lock_guard lock(mu);
        outcomes.push_back({Clock::now(), ok, r["content"][0]["text"]});
      }
    });
  // Load first: two answers per client on average (a slow, sanitized build
  // may take well over a second for that).
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return outcomes.size() >= 32;
  }));
  const auto restart_started = Clock::now();
  db.restart();
  const auto restart_done = Clock::now();
  // Keep the load on until a steady run of successes after the restart.
  const bool recovered = eventually([&] {
    std::lock_guard lock(mu);
    int streak = 0;
    for (auto it = outcomes.rbegin(); it != outcomes.rend() && it->at > restart_done && it->ok; ++it) ++streak;
    return streak >= 64;
  });
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_TRUE(recovered);

  int before = 0, errors = 0;
  Clock::time_point last_error = restart_started;
  for (const auto& o : outcomes) {
    if (o.at < restart_started) {
      EXPECT_TRUE(o.ok) << o.text;
      ++before;
      continue;
    }
    if (o.ok) continue;
    ++errors;
    last_error = std::max(last_error, o.at);
    // The only errors an analyst may see: the statement was running when the
    // database went down, or the database was not back yet.
    const bool expected =
        o.text.rfind("database connection lost", 0) == 0 || o.text.rfind("Database unavailable", 0) == 0;
    EXPECT_TRUE(expected) << o.text;
  }
  EXPECT_GT(before, 0);
  // Recovery: from the restart command to the last error the analysts saw.
  const auto recovery = std::chrono::duration_cast<std::chrono::milliseconds>(last_error - restart_started);
  ::testing::Test::RecordProperty("recovery_ms", std::to_string(recovery.count()));
  std::printf(
      "restart under load: %zu calls, %d errors, the last %lld ms after the restart began "
      "(pg_ctl restart took %lld ms)\n",
      outcomes.size(), errors, static_cast<long long>(recovery.count()),
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(restart_done - restart_started).count()));
}

TEST(Faults, QueriesPreferTheStandbyAndFallBackToThePrimary) {
  OwnCluster primary;
  OwnCluster standby(primary, true);
  // Both hosts in one URL; libpq picks the standby while there is one.
  const std::string url = primary.env().database_url;
  const auto at = url.find('@'), slash = url.find('/', at);
  const std::string both = url.substr(0, at + 1) + "127.0.0.1:" + std::to_string(standby.env().port) + "," +
                           url.substr(at + 1, slash - at - 1) + url.substr(slash) +
                           "?target_session_attrs=prefer-standby";
  TestServer server([&](config::Config& c) {
    c.database_url = both;
    c.connect_timeout_ms = 2000;
  });
  auto in_recovery = [&] {
    json r = server.call_tool("query", {{"sql",
                                         "SELECT pg_is_in_recovery() AS standby, count(*) AS n "
                                         "FROM tracksolid.devices"}});
    EXPECT_EQ(r["isError"], false) << r.dump();
    EXPECT_EQ(r["structuredContent"]["rows"][0]["n"], 3);
    return r["structuredContent"]["rows"][0]["standby"] == true;
  };
  EXPECT_TRUE(in_recovery());
  standby.halt();
  // The pooled connection to the standby is dead; the call retries on a new
  // one, which can only reach the primary. No error reaches the analyst.
  EXPECT_FALSE(in_recovery());
  EXPECT_FALSE(in_recovery());
}

TEST(Faults, AFullPoolServesItsQueueInArrivalOrder) {
  TestServer server([&](config::Config& c) {
    c.pool_max = 1;
    c.statement_timeout_ms = 3000;
    c.queue_timeout_ms = 120000;
  });
  std::thread blocker([&] {
    server.call_tool("query",
                     {{"sql", "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b"}});
  });
  ASSERT_TRUE(eventually([&] {
    const auto stats = server.app().pool().stats();
    return stats.open == 1 && stats.idle == 0;
  }));
  // Each query reports when PostgreSQL ran it; the order of those times is the
  // order the pool served the queue (client-side completion order is the OS's).
  std::mutex mu;
  std::vector<std::pair<std::string, int>> ran;
  std::vector<std::thread> queued;
  for (int i = 0; i < 10; ++i) {
    queued.emplace_back([&, i] {
      json r = server.call_tool("query", {{"sql", "SELECT " + std::to_string(i) +
                                                      " AS i, to_char(clock_timestamp(), 'HH24:MI:SS.US') AS at"}});
      std::lock_guard lock(mu);
      ran.emplace_back(r["structuredContent"]["rows"][0]["at"], r["structuredContent"]["rows"][0]["i"]);
    });
    // A known arrival order: the next request starts once this one waits in the queue.
    ASSERT_TRUE(eventually([&] { return server.app().pool().stats().waiting == static_cast<std::size_t>(i + 1); }));
  }
  blocker.join();
  for (auto& t : queued) t.join();
  std::sort(ran.begin(), ran.end());
  std::vector<int> order;
  for (const auto& [at, i] : ran) order.push_back(i);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

// Opens `n` pooled connections (n calls at once, each holding one for a
// moment) and waits until all of them are back in the pool, idle.
void fill_pool(TestServer& server, int n) {
  std::vector<std::thread> calls;
  for (int i = 0; i < n; ++i)
    calls.emplace_back([&] {
      json r = server.call_tool("query", {{"sql", "SELECT count(*) AS n FROM generate_series(1, 3000000)"}});
      EXPECT_EQ(r["isError"], false) << r.dump();
    });
  for (auto& t : calls) t.join();
  ASSERT_TRUE(eventually([&] { return server.app().pool().stats().idle >= n; }));
}

json count_devices(TestServer& server) {
  return server.call_tool("query", {{"sql", "SELECT count(*) AS n FROM tracksolid.devices"}});
}

// Below the pool: a session that PostgreSQL ended while idle answers the next
// plan with its FATAL (or just the socket's end) before BEGIN completes. The
// run must call the connection dead with nothing run, which is what lets the
// database layer retry. Both ways a backend ends while idle are tried.
TEST(IdleFaults, ASessionEndedWhileIdleFailsBeforeBeginWithNothingRun) {
  if (cluster().through_pooler) GTEST_SKIP() << "PgBouncer's backends are not the connection's own";
  namespace asio = boost::asio;
  const std::string tag = test_tag("fleetmcp-idle-fatal");
  Admin admin;
  for (const std::string how : {"terminated", "idle_session_timeout"}) {
    SCOPED_TRACE(how);
    const std::string url = tagged_url(tag) + (how == "terminated" ? "" : "&options=-c%20idle_session_timeout%3D200");
    asio::io_context io;
    asio::thread_pool blocking(1);
    std::optional<std::variant<pg::RunOutput, pg::RunFailure>> outcome;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          const auto deadline = pg::Clock::now() + std::chrono::seconds(10);
          auto conn = co_await pg::Connection::open(co_await asio::this_coro::executor, blocking, url, deadline);
          if (!conn) co_return;
          const int pid = (*conn)->backend_pid();
          if (how == "terminated") admin.exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
          // Blocking the loop is fine here: nothing else runs on it.
          eventually([&] {
            return admin.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(pid)) == "0";
          });
          pg::Plan plan;
          plan.statements.push_back({"SELECT 1", {}});
          outcome = co_await (*conn)->run(plan, pg::Clock::now() + std::chrono::seconds(10));
        },
        asio::detached);
    io.run();
    blocking.join();
    ASSERT_TRUE(outcome.has_value());
    auto* failure = std::get_if<pg::RunFailure>(&*outcome);
    ASSERT_NE(failure, nullptr);
    EXPECT_TRUE(failure->connection_dead);
    EXPECT_TRUE(failure->nothing_ran);
    EXPECT_EQ(failure->error.kind, core::ErrorKind::ConnectionLost) << failure->error.message;
  }
}

// Every pooled backend ended by an administrator while idle: nothing of the
// next call ran, so the analyst must not see it (run directly and, with
// PgBouncer's backends, through it).
TEST(IdleFaults, AllIdlePooledBackendsTerminatedTheNextCallSucceeds) {
  const std::string tag = test_tag("fleetmcp-idle-terminated");
  TestServer server([&](config::Config& c) {
    c.database_url = tagged_url(tag);
    c.pool_max = 4;
  });
  fill_pool(server, 4);
  Admin admin;
  ASSERT_GE(std::stoi(admin.scalar("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   "WHERE " +
                                   of_server(tag) + " AND state = 'idle'")),
            1);
  ASSERT_TRUE(eventually([&] { return backends(admin, tag) == 0; }));
  json r = count_devices(server);
  EXPECT_EQ(r["isError"], false) << r.dump();
  EXPECT_EQ(r["structuredContent"]["rows"][0]["n"], 3);
}

// idle_session_timeout shorter than the pool's idle timeout: PostgreSQL ends
// every pooled connection before the pool would. PgBouncer ignores startup
// options, so this one runs directly (OwnBouncer covers the pooler's timeout).
TEST(IdleFaults, IdleSessionTimeoutShorterThanThePoolsTheNextCallSucceeds) {
  if (cluster().through_pooler) GTEST_SKIP() << "PgBouncer ignores the startup option that sets the timeout";
  const std::string tag = test_tag("fleetmcp-idle-session-timeout");
  TestServer server([&](config::Config& c) {
    c.database_url = tagged_url(tag) + "&options=-c%20idle_session_timeout%3D300";
    c.pool_max = 4;
    c.pool_idle_timeout_s = 600;
  });
  fill_pool(server, 4);
  Admin admin;
  ASSERT_TRUE(eventually([&] { return backends(admin, tag) == 0; }));
  // The pool still holds them: it has not noticed.
  ASSERT_GE(server.app().pool().stats().idle, 4);
  json r = count_devices(server);
  EXPECT_EQ(r["isError"], false) << r.dump();
  EXPECT_EQ(r["structuredContent"]["rows"][0]["n"], 3);
}

// A PgBouncer of the test's own, in front of the shared cluster, with extra
// settings (tests/harness/pg_cluster.sh pgbouncer, PGBOUNCER_SETTINGS).
class OwnBouncer {
 public:
  explicit OwnBouncer(const std::string& settings) : dir_("/tmp/fleetmcp-bouncer-" + std::to_string(getpid())) {
    mkdir(dir_.c_str(), 0755);
    {
      std::ofstream env(dir_ + "/env");
      env << "export FLEETMCP_TEST_PORT='" << cluster().port << "'\n"
          << "export FLEETMCP_TEST_DATABASE_URL='" << cluster().database_url << "'\n";
    }
    const std::string cmd =
        "PGBOUNCER_SETTINGS='" + settings + "' bash " + FLEETMCP_HARNESS + " pgbouncer " + dir_ + " >/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("could not start PgBouncer in " + dir_);
    env_ = read_cluster_env(dir_ + "/pgbouncer/env");
  }
  ~OwnBouncer() { std::system(("bash " + std::string(FLEETMCP_HARNESS) + " stop " + dir_).c_str()); }
  const std::string& database_url() const { return env_.database_url; }
  // Lines of PgBouncer's log that contain `text`.
  int log_lines(const std::string& text) const {
    std::ifstream log(dir_ + "/pgbouncer/pgbouncer.log");
    int n = 0;
    for (std::string line; std::getline(log, line);) n += line.find(text) != std::string::npos;
    return n;
  }

 private:
  std::string dir_;
  ClusterEnv env_;
};

// PgBouncer closes a client connection idle past client_idle_timeout (FATAL
// 08P01): the pool's connections die while idle, and the next call succeeds.
TEST(IdleFaults, PgBouncerClientIdleTimeoutTheNextCallSucceeds) {
  if (cluster().through_pooler) GTEST_SKIP() << "starts a PgBouncer of its own";
  OwnBouncer bouncer("client_idle_timeout = 1");
  TestServer server([&](config::Config& c) {
    c.database_url = bouncer.database_url();
    c.pool_max = 4;
    c.pool_idle_timeout_s = 600;
  });
  fill_pool(server, 4);
  ASSERT_TRUE(eventually([&] { return bouncer.log_lines("client_idle_timeout") >= 4; }));
  json r = count_devices(server);
  EXPECT_EQ(r["isError"], false) << r.dump();
  EXPECT_EQ(r["structuredContent"]["rows"][0]["n"], 3);
}

}  // namespace
}  // namespace fleetmcp::testing
