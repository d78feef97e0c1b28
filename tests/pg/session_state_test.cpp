// Nothing a call does survives it on a pooled connection: plans that slip past
// the guard (run straight through pg::Database) take an advisory lock, set a
// session setting, declare a held cursor, LISTEN and PREPARE; the next call on
// the same backend finds none of it. Directly, a pool of one connection is one
// backend; through PgBouncer (transaction mode) the server connection may
// differ, so the pairs that did land on one backend are checked, and the
// advisory lock is looked for on every backend.
#include <gtest/gtest.h>

#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <future>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

namespace asio = boost::asio;

core::Result<pg::RunOutput> run_plan(app::App& app, std::vector<std::string> statements) {
  pg::Plan plan;
  for (auto& s : statements) plan.statements.push_back({std::move(s), {}});
  std::promise<core::Result<pg::RunOutput>> done;
  auto answer = done.get_future();
  asio::co_spawn(
      app.io(), [&]() -> asio::awaitable<void> { done.set_value(co_await app.database().run(std::move(plan))); },
      asio::detached);
  return answer.get();
}

std::string value(const pg::RunOutput& out, std::size_t statement, int column = 0) {
  const PGresult* r = out.results.at(statement).get();
  if (!r || PQntuples(r) < 1 || PQgetisnull(r, 0, column)) return "";
  return PQgetvalue(r, 0, column);
}

TEST(SessionState, NothingACallDoesSurvivesItOnThePooledConnection) {
  TestServer server([](config::Config& c) { c.pool_max = 1; });
  Admin admin;
  // Its own lock key: the direct and the PgBouncer runs may share the cluster at once.
  const std::string key = std::to_string(424200000 + (getpid() % 100000) * 2 + (cluster().through_pooler ? 1 : 0));
  int same_backend = 0;
  for (int round = 0; round < 5; ++round) {
    auto dirty =
        run_plan(server.app(), {"SELECT pg_backend_pid()", "SELECT pg_advisory_lock(" + key + ")",
                                "SELECT set_config('app.x', '1', false)", "LISTEN fleetmcp_channel",
                                // A second PREPARE of the same name on a backend that kept it fails.
                                "PREPARE fleetmcp_p AS SELECT 1", "DECLARE fleetmcp_c CURSOR WITH HOLD FOR SELECT 1"});
    ASSERT_TRUE(dirty) << "round " << round << ": " << dirty.error().message;
    EXPECT_EQ(value(*dirty, 2), "1");  // the setting took, inside the transaction

    auto check = run_plan(
        server.app(),
        {"SELECT pg_backend_pid()", "SELECT current_setting('app.x', true)",
         "SELECT count(*) FROM pg_prepared_statements",  // '' is the unnamed portal running this very statement.
         "SELECT count(*) FROM pg_cursors WHERE name <> ''", "SELECT count(*) FROM pg_listening_channels()",
         "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"});
    ASSERT_TRUE(check) << check.error().message;
    // From the side, on every backend: no session holds the lock.
    EXPECT_EQ(admin.scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = " + key), "0");
    const bool same = value(*dirty, 0) == value(*check, 0);
    if (!cluster().through_pooler) {
      EXPECT_TRUE(same) << "a pool of one connection changed backends";
    }
    if (!same) continue;
    ++same_backend;
    EXPECT_EQ(value(*check, 1), "") << "set_config(..., false) survived";
    EXPECT_EQ(value(*check, 2), "0") << "a prepared statement survived";
    EXPECT_EQ(value(*check, 3), "0") << "a cursor survived";
    EXPECT_EQ(value(*check, 4), "0") << "a LISTEN survived";
    EXPECT_EQ(value(*check, 5), "0") << "an advisory lock survived";
  }
  EXPECT_GT(same_backend, 0) << "no check ran on the backend of the call before it";
}

TEST(SessionState, AFailedCallReleasesItsLocksToo) {
  TestServer server([](config::Config& c) { c.pool_max = 1; });
  Admin admin;
  const std::string key = std::to_string(434200000 + (getpid() % 100000) * 2 + (cluster().through_pooler ? 1 : 0));
  auto before = run_plan(server.app(), {"SELECT pg_backend_pid()"});
  ASSERT_TRUE(before) << before.error().message;
  auto failed = run_plan(server.app(),
                         {"SELECT pg_advisory_lock(" + key + ")", "PREPARE fleetmcp_q AS SELECT 1", "SELECT 1 / 0"});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().sqlstate, "22012");
  EXPECT_EQ(admin.scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = " + key), "0");
  // The connection is still good and clean.
  auto next = run_plan(server.app(), {"SELECT count(*) FROM pg_prepared_statements", "SELECT pg_backend_pid()"});
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(value(*next, 0), "0");
  // The ROLLBACK and the cleanup the failure skipped ran on their own, so the
  // session was kept, not dropped (through PgBouncer the backend may differ).
  if (!cluster().through_pooler) EXPECT_EQ(value(*next, 1), value(*before, 0));
}

}  // namespace
}  // namespace fleetmcp::testing
