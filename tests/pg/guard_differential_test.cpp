// The guard corpus through the real server: every allowed statement reaches
// PostgreSQL and runs as the read-only role; every rejected one is refused with
// its rule and never reaches the database; and a digest of the database (data,
// sequences, roles, settings, catalog, locks) is the same before and after.
#include <gtest/gtest.h>

#include <fstream>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

struct Case {
  std::string sql, verdict, rule;
  bool runs = false;
  std::string sqlstate;  // allowed, and then refused by PostgreSQL itself with this code
};

std::vector<Case> corpus() {
  std::vector<Case> cases;
  std::ifstream in(FLEETMCP_SQL_CORPUS);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    json j = json::parse(line);
    cases.push_back(
        {j["sql"], j["verdict"], j.value("rule", ""), j.value("runs", false), j.value("sqlstate", "")});
  }
  return cases;
}

TEST(GuardDifferential, CorpusThroughTheServerLeavesTheDatabaseUnchanged) {
  const auto cases = corpus();
  ASSERT_GE(cases.size(), 200u);
  const std::string tag = test_tag("fleetmcp-differential");
  TestServer server([&](config::Config& c) {
    c.database_url = tagged_url(tag);
    c.statement_timeout_ms = 5000;
  });
  Admin admin;
  const std::string before = database_digest(admin);
  int allowed = 0, rejected = 0;
  for (const auto& c : cases) {
    const auto sent = server.app().database().plans_sent();
    json r = server.call_tool("query", {{"sql", c.sql}, {"max_rows", 20}});
    const std::string text = r["content"][0]["text"];
    if (c.verdict == "allow") {
      ++allowed;
      EXPECT_EQ(text.find("Rejected by the SQL guard"), std::string::npos) << c.sql << "\n" << text;
      EXPECT_GT(server.app().database().plans_sent(), sent) << c.sql;
      if (c.runs) {
        EXPECT_EQ(r["isError"], false) << c.sql << "\n" << text;
      }
      if (!c.sqlstate.empty()) {
        EXPECT_EQ(r["isError"], true) << c.sql;
        EXPECT_NE(text.find("PostgreSQL error " + c.sqlstate), std::string::npos) << c.sql << "\n" << text;
      }
    } else {
      ++rejected;
      EXPECT_EQ(r["isError"], true) << c.sql;
      EXPECT_NE(text.find("(rule " + c.rule + ")"), std::string::npos) << c.sql << "\n" << text;
      EXPECT_EQ(server.app().database().plans_sent(), sent) << "reached PostgreSQL: " << c.sql;
    }
  }
  EXPECT_GT(allowed, 80);
  EXPECT_GT(rejected, 80);
  EXPECT_EQ(database_digest(admin), before);
  // Nothing left behind: no transaction open on the server's connections.
  EXPECT_EQ(admin.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + tag +
                         "' AND state <> 'idle'"),
            "0");
}

}  // namespace
}  // namespace fleetmcp::testing
