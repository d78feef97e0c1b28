#include "audit/audit.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace fleetmcp::audit {
namespace {

TEST(Audit, OneJsonLineWithEveryField) {
  Record r;
  r.caller = "alice";
  r.tool = "query";
  r.fingerprint = "abc123";
  r.sql = "SELECT 1\n";
  r.rows = 1;
  r.truncated = true;
  r.ms = 12;
  r.outcome = "error";
  r.sqlstate = "42P01";
  r.error = "db_error";
  std::string line = Sink::format(r, 1000);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // exactly one line
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["caller"], "alice");
  EXPECT_EQ(j["tool"], "query");
  EXPECT_EQ(j["fingerprint"], "abc123");
  EXPECT_EQ(j["sql"], "SELECT 1\n");
  EXPECT_EQ(j["rows"], 1);
  EXPECT_EQ(j["truncated"], true);
  EXPECT_EQ(j["ms"], 12);
  EXPECT_EQ(j["outcome"], "error");
  EXPECT_EQ(j["sqlstate"], "42P01");
  EXPECT_TRUE(j.contains("ts"));
}

TEST(Audit, LongSqlIsCutAtACharacterBoundary) {
  Record r;
  r.caller = "bob";
  r.tool = "query";
  r.outcome = "ok";
  r.sql = "SELECT '" + std::string(10, 'x') + "\xE2\x82\xAC\xE2\x82\xAC'";  // two euro signs
  std::string line = Sink::format(r, 20);                                   // cuts inside the first euro sign
  auto j = nlohmann::json::parse(line);                                     // throws on broken UTF-8
  const std::string sql = j["sql"];
  EXPECT_EQ(sql, "SELECT 'xxxxxxxxxx…");
}

}  // namespace
}  // namespace fleetmcp::audit
