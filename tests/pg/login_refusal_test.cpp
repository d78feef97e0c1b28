// A refused login (wrong password, unknown role or database, pg_hba.conf) is
// not retried for the connect timeout: calls fail at once with the cause, the
// operator's log names it once, /readyz says so (the cause only to a check on
// this host), and the login is tried again at spaced intervals until it works.
// And a 401 is logged without the token.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

// A login role of the test's own, whose password the test changes.
class OwnRole {
 public:
  OwnRole(Admin& admin, std::string name, const std::string& password) : admin_(admin), name_(std::move(name)) {
    admin_.exec("DROP ROLE IF EXISTS " + name_);
    admin_.exec("CREATE ROLE " + name_ + " LOGIN PASSWORD '" + password + "'");
  }
  ~OwnRole() { admin_.exec("DROP ROLE IF EXISTS " + name_); }
  void set_password(const std::string& password) {
    admin_.exec("ALTER ROLE " + name_ + " PASSWORD '" + password + "'");
  }
  std::string url(const std::string& password) const {
    return "postgresql://" + name_ + ":" + password + "@127.0.0.1:" + std::to_string(cluster().port) +
           "/tracksolid_db?application_name=" + name_;
  }

 private:
  Admin& admin_;
  std::string name_;
};

// The server log's refusals of `role` so far: PostgreSQL logs every one.
int refused_logins(const std::string& role) {
  std::ifstream log(cluster().pgdata + "/../server.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  const std::string needle = "password authentication failed for user \"" + role + "\"";
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

json tools_call(const std::string& sql) {
  return {{"jsonrpc", "2.0"},
          {"id", 1},
          {"method", "tools/call"},
          {"params", {{"name", "query"}, {"arguments", {{"sql", sql}}}}}};
}

TEST(LoginRefusal, FailsAtOnceWithTheCauseLogsItOnceAndRecoversWhenFixed) {
  if (cluster().through_pooler) GTEST_SKIP() << "logs in to PostgreSQL directly, with a role of its own";
  Admin admin;
  const std::string role = "fleetmcp_refused_" + std::to_string(getpid());
  OwnRole own(admin, role, "the-right-one");
  const int before = refused_logins(role);
  // A connect timeout far longer than the calls may take: the old behaviour
  // (retrying the refusal until it) would fail the timing checks below.
  Child server({"serve"}, {{"DATABASE_URL", own.url("a-wrong-one")}, {"MCP_CONNECT_TIMEOUT_MS", "30000"}},
               /*capture_stdout=*/true);
  ASSERT_TRUE(server.read_until("listening on http://")) << server.output();
  const std::map<std::string, std::string> auth = {{"Authorization", std::string("Bearer ") + kToken},
                                                   {"Content-Type", "application/json"}};
  for (int i = 0; i < 3; ++i) {
    const auto started = std::chrono::steady_clock::now();
    const auto r = http_request(server.port(), "POST", "/mcp", tools_call("SELECT 1 AS one").dump(), auth);
    const auto took = std::chrono::steady_clock::now() - started;
    ASSERT_EQ(r.status, 200) << r.body;
    const json result = r.json_body()["result"];
    EXPECT_EQ(result["isError"], true);
    const std::string text = result["content"][0]["text"];
    EXPECT_NE(text.find("password authentication failed"), std::string::npos) << text;
    EXPECT_NE(text.find("retrying will not help"), std::string::npos) << text;
    EXPECT_LT(took, std::chrono::seconds(15)) << "call " << i << " waited for the connect timeout";
  }
  // One line in the operator's log names the cause; each audit line carries it.
  ASSERT_TRUE(server.read_until("\"cause\":")) << server.output();
  const std::string& out = server.output();
  const std::string logged = "the database refused the login, which no retry cures";
  EXPECT_NE(out.find(logged), std::string::npos) << out;
  EXPECT_EQ(out.find(logged), out.rfind(logged)) << "logged more than once:\n" << out;

  // /readyz: the category for anyone (through a proxy), the cause only here.
  auto direct = http_request(server.port(), "GET", "/readyz");
  EXPECT_EQ(direct.status, 503);
  EXPECT_EQ(direct.json_body()["reason"], "the database refused the server's login");
  EXPECT_NE(direct.body.find("password authentication failed"), std::string::npos) << direct.body;
  // Through a proxy (whatever it adds), from a browser, or to a name other than
  // a loopback one (a proxy's public name, a page rebound to 127.0.0.1): the
  // category only.
  for (const std::map<std::string, std::string>& from :
       std::vector<std::map<std::string, std::string>>{{{"X-Forwarded-For", "203.0.113.9"}},
                                                       {{"Forwarded", "for=203.0.113.9"}},
                                                       {{"Via", "1.1 squid"}},
                                                       {{"X-Forwarded-Host", "fleet.example.com"}},
                                                       {{"CF-Connecting-IP", "203.0.113.9"}},
                                                       {{"X-Envoy-External-Client-IP", "203.0.113.9"}},
                                                       {{"Origin", "http://127.0.0.1"}},
                                                       {{"Host", "attacker.example"}},
                                                       {{"Host", "localhost.attacker.example"}}}) {
    auto proxied = http_request(server.port(), "GET", "/readyz", {}, from);
    EXPECT_EQ(proxied.status, 503);
    EXPECT_EQ(proxied.json_body(), json({{"ready", false}, {"reason", "the database refused the server's login"}}))
        << from.begin()->first;
  }
  for (const char* host : {"localhost", "127.0.0.1:1234", "[::1]:80"})
    EXPECT_NE(http_request(server.port(), "GET", "/readyz", {}, {{"Host", host}}).body.find("detail"),
              std::string::npos)
        << host;

  // Spaced: a handful of logins, not one every 100 ms for each call.
  const int refusals = refused_logins(role) - before;
  EXPECT_GE(refusals, 1);
  EXPECT_LE(refusals, 6) << "a login storm";

  // Fixed on the database side: the server recovers without a restart.
  own.set_password("a-wrong-one");
  EXPECT_TRUE(eventually(
      [&] {
        const auto r = http_request(server.port(), "POST", "/mcp", tools_call("SELECT 1 AS one").dump(), auth);
        return r.status == 200 && r.json_body()["result"]["isError"] == false;
      },
      90));
  EXPECT_TRUE(server.read_until("the database accepts the login again")) << server.output();
  EXPECT_TRUE(eventually([&] { return http_request(server.port(), "GET", "/readyz").status == 200; }, 10));
}

TEST(LoginRefusal, AnUnknownDatabaseIsNamedAtOnce) {
  if (cluster().through_pooler) GTEST_SKIP() << "logs in to PostgreSQL directly";
  auto url = cluster().database_url;
  url.replace(url.rfind('/'), std::string::npos, "/no_such_fleet_db");
  TestServer server([&](config::Config& c) {
    c.database_url = url;
    c.connect_timeout_ms = 30000;
  });
  const auto started = std::chrono::steady_clock::now();
  json r = server.call_tool("query", {{"sql", "SELECT 1 AS one"}});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
  EXPECT_EQ(r["isError"], true);
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("database \"no_such_fleet_db\" does not exist"),
            std::string::npos)
      << r.dump();
}

// A refused token is logged: who knocked (the address) and why, never the token.
TEST(Unauthorized, IsLoggedWithTheAddressAndReasonButNotTheToken) {
  TestServer server;
  const std::string body = tools_call("SELECT 1").dump();
  const std::map<std::string, std::string> json_type = {{"Content-Type", "application/json"}};
  auto with = [&](std::map<std::string, std::string> h) {
    h.insert(json_type.begin(), json_type.end());
    return http_request(server.port(), "POST", "/mcp", body, h).status;
  };
  EXPECT_EQ(with({}), 401);
  EXPECT_EQ(with({{"Authorization", "Bearer not-a-token-we-know-42"}}), 401);
  EXPECT_EQ(with({{"Authorization", "Basic dXNlcjpwYXNz"}}), 401);
  EXPECT_TRUE(eventually([&] { return server.audit_log().find("not a Bearer token") != std::string::npos; }, 10));
  const std::string log = server.audit_log();
  for (const char* reason : {"no Authorization header", "unknown token", "not a Bearer token"})
    EXPECT_NE(
        log.find(std::string("\"audit\":\"unauthorized\",\"caller\":null,\"remote\":\"127.0.0.1\",\"reason\":\"") +
                 reason + "\""),
        std::string::npos)
        << reason << " in\n"
        << log;
  EXPECT_EQ(log.find("not-a-token-we-know-42"), std::string::npos);
  EXPECT_EQ(log.find("dXNlcjpwYXNz"), std::string::npos);
}

}  // namespace
}  // namespace fleetmcp::testing
