// Faults injected into a real PostgreSQL: a restart under load, a standby that
// goes away, a queue served in order.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
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
    const bool expected = o.text.rfind("database connection lost", 0) == 0 ||
                          o.text.rfind("Database unavailable", 0) == 0;
    EXPECT_TRUE(expected) << o.text;
  }
  EXPECT_GT(before, 0);
  // Recovery: from the restart command to the last error the analysts saw.
  const auto recovery = std::chrono::duration_cast<std::chrono::milliseconds>(last_error - restart_started);
  ::testing::Test::RecordProperty("recovery_ms", std::to_string(recovery.count()));
  std::printf("restart under load: %zu calls, %d errors, the last %lld ms after the restart began "
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
    json r = server.call_tool("query", {{"sql", "SELECT pg_is_in_recovery() AS standby, count(*) AS n "
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
    server.call_tool("query", {{"sql", "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b"}});
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

}  // namespace
}  // namespace fleetmcp::testing
