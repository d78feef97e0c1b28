// MCP_TIMEZONE: every session runs in the configured zone (through the startup
// options, or per call where a pooler drops them), the instructions say so, and
// a zone PostgreSQL does not know stops the start.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

std::string first_value(const json& result, const std::string& column) {
  return result["structuredContent"]["rows"].at(0).at(column).get<std::string>();
}

TEST(TimeZone, SessionsRunInTheConfiguredZone) {
  Admin admin;
  // A zone the server does not have already, so the setting is what shows.
  const std::string zone = admin.scalar("SHOW TimeZone") == "Asia/Kathmandu" ? "Africa/Nairobi" : "Asia/Kathmandu";
  TestServer server([&](config::Config& c) {
    c.timezone = zone;
    c.pool_max = 2;
  });
  json r = server.call_tool("query", {{"sql",
                                       "SELECT current_setting('TimeZone') AS tz, "
                                       "to_char(now(), 'TZH:TZM') AS utc_offset"}});
  ASSERT_FALSE(r.value("isError", false)) << r.dump();
  EXPECT_EQ(first_value(r, "tz"), zone);
  EXPECT_EQ(first_value(r, "utc_offset"), zone == "Asia/Kathmandu" ? "+05:45" : "+03:00");
  // A second call, on a pooled connection, is in the same zone.
  r = server.call_tool("query", {{"sql", "SELECT current_setting('TimeZone') AS tz"}});
  EXPECT_EQ(first_value(r, "tz"), zone);

  json init = server.post(initialize_request()).json_body();
  EXPECT_NE(init["result"]["instructions"].get<std::string>().find("Sessions run in time zone " + zone + ":"),
            std::string::npos)
      << init.dump();
}

TEST(TimeZone, UnsetKeepsTheServersZoneAndSaysSo) {
  Admin admin;
  const std::string server_zone = admin.scalar("SHOW TimeZone");
  TestServer server;
  json r = server.call_tool("query", {{"sql", "SELECT current_setting('TimeZone') AS tz"}});
  EXPECT_EQ(first_value(r, "tz"), server_zone);
  json init = server.post(initialize_request()).json_body();
  EXPECT_NE(init["result"]["instructions"].get<std::string>().find("database server's time zone"), std::string::npos);
}

TEST(TimeZone, AZonePostgresDoesNotKnowStopsTheStart) {
  int out = -1;
  const pid_t pid = spawn_fleetmcp(
      {"serve"}, {{"DATABASE_URL", cluster().database_url}, {"MCP_TIMEZONE", "Mars/Olympus_Mons"}}, false, out);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(out, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  close(out);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << text;
  EXPECT_EQ(WEXITSTATUS(status), 2) << text;
  EXPECT_NE(text.find("MCP_TIMEZONE: PostgreSQL does not know the time zone 'Mars/Olympus_Mons'"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("listening on"), std::string::npos) << text;
}

}  // namespace
}  // namespace fleetmcp::testing
