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
    cases.push_back({j["sql"], j["verdict"], j.value("rule", ""), j.value("runs", false), j.value("sqlstate", "")});
  }
  return cases;
}

// Runs the corpus as the role behind `url`; returns each statement's verdict
// ("allow" or the rule), checking on the way that nothing rejected reached
// PostgreSQL and that the database is unchanged.
std::vector<std::string> run_corpus(const std::vector<Case>& cases, const std::string& url, const std::string& tag,
                                    bool read_only_role) {
  TestServer server([&](config::Config& c) {
    c.database_url = url;
    c.statement_timeout_ms = 5000;
    c.allow_unsafe_role = !read_only_role;  // the self-audit refuses a superuser otherwise
  });
  Admin admin;
  const std::string before = database_digest(admin, tag);
  std::vector<std::string> verdicts;
  int allowed = 0, rejected = 0;
  for (const auto& c : cases) {
    const auto sent = server.app().database().plans_sent();
    json r = server.call_tool("query", {{"sql", c.sql}, {"max_rows", 20}});
    const std::string text = r["content"][0]["text"];
    const auto rule_at = text.find("(rule ");
    verdicts.push_back(rule_at == std::string::npos ? "allow"
                                                    : text.substr(rule_at + 6, text.find(')', rule_at) - rule_at - 6));
    if (c.verdict == "allow") {
      ++allowed;
      EXPECT_EQ(text.find("Rejected by the SQL guard"), std::string::npos) << c.sql << "\n" << text;
      EXPECT_GT(server.app().database().plans_sent(), sent) << c.sql;
      if (c.runs && read_only_role) {
        EXPECT_EQ(r["isError"], false) << c.sql << "\n" << text;
      }
      if (!c.sqlstate.empty() && read_only_role) {
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
  EXPECT_EQ(database_digest(admin, tag), before);
  // Nothing left behind: no transaction open on the server's connections (a
  // catalog reload that an unknown function asked for may still be running).
  EXPECT_TRUE(eventually([&] {
    return admin.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + tag +
                        "' AND state <> 'idle'") == "0";
  }));
  return verdicts;
}

// The guard's verdicts do not depend on what the role may do: a superuser
// (which bypasses every grant) gets exactly the same verdicts, and the
// database is still unchanged.
TEST(GuardDifferential, CorpusAsTheRoleAndAsASuperuserSameVerdictsNothingChanged) {
  const auto cases = corpus();
  ASSERT_GE(cases.size(), 200u);
  const std::string ro_tag = test_tag("fleetmcp-differential-ro");
  const std::string su_tag = test_tag("fleetmcp-differential-su");
  const auto as_role = run_corpus(cases, tagged_url(ro_tag), ro_tag, true);
  const std::string admin = cluster().admin_url;
  const auto as_superuser = run_corpus(
      cases, admin + (admin.find('?') == std::string::npos ? "?" : "&") + "application_name=" + su_tag, su_tag, false);
  ASSERT_EQ(as_role.size(), as_superuser.size());
  for (std::size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(as_role[i], as_superuser[i]) << cases[i].sql;
}

}  // namespace
}  // namespace fleetmcp::testing
