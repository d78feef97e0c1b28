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
};

std::vector<Case> corpus() {
  std::vector<Case> cases;
  std::ifstream in(FLEETMCP_SQL_CORPUS);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    json j = json::parse(line);
    cases.push_back({j["sql"], j["verdict"], j.value("rule", ""), j.value("runs", false)});
  }
  return cases;
}

std::string digest(Admin& admin) {
  std::string out;
  const std::string tables = admin.scalar(
      "SELECT string_agg(format('%I.%I', n.nspname, c.relname), ' ' ORDER BY 1) FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') "
      "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')");
  std::istringstream names(tables);
  for (std::string t; names >> t;)
    out += t + "=" + admin.scalar("SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM " + t + " x") + "\n";
  out += "seq " + admin.scalar("SELECT string_agg(format('%s.%s=%s', schemaname, sequencename, last_value), ',' ORDER BY 1) FROM pg_sequences") + "\n";
  out += "roles " + admin.scalar("SELECT string_agg(format('%s:%s:%s:%s', rolname, rolsuper, rolcanlogin, rolconfig), ',' ORDER BY rolname) FROM pg_roles") + "\n";
  out += "settings " + admin.scalar("SELECT string_agg(format('%s:%s:%s', setdatabase, setrole, setconfig), ',' ORDER BY 1) FROM pg_db_role_setting") + "\n";
  out += "catalog " + admin.scalar("SELECT (SELECT count(*) FROM pg_class) || '/' || (SELECT count(*) FROM pg_proc) || '/' || (SELECT count(*) FROM pg_namespace)") + "\n";
  out += "advisory " + admin.scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") + "\n";
  out += "large objects " + admin.scalar("SELECT count(*) FROM pg_largeobject_metadata") + "\n";
  return out;
}

TEST(GuardDifferential, CorpusThroughTheServerLeavesTheDatabaseUnchanged) {
  const auto cases = corpus();
  ASSERT_GE(cases.size(), 200u);
  const std::string tag = "fleetmcp-differential";
  TestServer server([&](config::Config& c) {
    c.database_url = cluster().database_url + "?application_name=" + tag;
    c.statement_timeout_ms = 5000;
  });
  Admin admin;
  const std::string before = digest(admin);
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
    } else {
      ++rejected;
      EXPECT_EQ(r["isError"], true) << c.sql;
      EXPECT_NE(text.find("(rule " + c.rule + ")"), std::string::npos) << c.sql << "\n" << text;
      EXPECT_EQ(server.app().database().plans_sent(), sent) << "reached PostgreSQL: " << c.sql;
    }
  }
  EXPECT_GT(allowed, 80);
  EXPECT_GT(rejected, 80);
  EXPECT_EQ(digest(admin), before);
  // Nothing left behind: no transaction open on the server's connections.
  EXPECT_EQ(admin.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + tag +
                         "' AND state <> 'idle'"),
            "0");
}

}  // namespace
}  // namespace fleetmcp::testing
