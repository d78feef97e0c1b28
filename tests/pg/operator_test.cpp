// /metrics and /status against a real cluster: who may read them, and that
// what they say matches the calls made.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <thread>

#include "pg/harness.hpp"

using namespace fleetmcp;
using namespace fleetmcp::testing;

namespace {

constexpr const char* kOperatorToken = "operator-token-1";

std::map<std::string, std::string> as_operator() {
  return {{"Authorization", std::string("Bearer ") + kOperatorToken}};
}

// The value of the sample line starting with `head`, as a number (-1: absent).
double sample(const std::string& text, const std::string& head) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(head + " ", 0) == 0) return std::stod(line.substr(head.size() + 1));
  return -1;
}

std::function<void(config::Config&)> with_operator(std::function<void(config::Config&)> more = {}) {
  return [more](config::Config& c) {
    c.operator_tokens = {{"ops", kOperatorToken}};
    if (more) more(c);
  };
}

}  // namespace

TEST(Operator, WithoutOperatorTokensBothPathsAreNotFound) {
  TestServer server;
  for (const char* path : {"/metrics", "/status"}) {
    EXPECT_EQ(http_request(server.port(), "GET", path).status, 404) << path;
    EXPECT_EQ(http_request(server.port(), "GET", path, {}, as_operator()).status, 404) << path;
  }
}

TEST(Operator, OnlyAnOperatorTokenOpensThem) {
  TestServer server(with_operator());
  for (const char* path : {"/metrics", "/status"}) {
    SCOPED_TRACE(path);
    auto none = http_request(server.port(), "GET", path);
    EXPECT_EQ(none.status, 401);
    EXPECT_NE(none.headers["www-authenticate"].find("Basic realm=\"fleetmcp operator\""), std::string::npos);
    // An analyst's token is not an operator's.
    EXPECT_EQ(http_request(server.port(), "GET", path, {}, {{"Authorization", std::string("Bearer ") + kToken}}).status,
              401);
    EXPECT_EQ(http_request(server.port(), "GET", path, {}, as_operator()).status, 200);
    // Basic, as a browser sends it: ops:operator-token-1.
    EXPECT_EQ(
        http_request(server.port(), "GET", path, {}, {{"Authorization", "Basic b3BzOm9wZXJhdG9yLXRva2VuLTE="}}).status,
        200);
    EXPECT_EQ(http_request(server.port(), "POST", path, "{}", as_operator()).status, 405);
    // A page on another origin cannot read them with the browser's stored credentials.
    auto foreign = as_operator();
    foreign["Origin"] = "http://evil.example";
    EXPECT_EQ(http_request(server.port(), "GET", path, {}, foreign).status, 403);
  }
  auto metrics = http_request(server.port(), "GET", "/metrics", {}, as_operator());
  EXPECT_EQ(metrics.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  auto status = http_request(server.port(), "GET", "/status", {}, as_operator());
  EXPECT_EQ(status.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(status.headers["content-security-policy"].find("default-src 'none'"), std::string::npos);
  // Refusals are audited, never with the token.
  const std::string log = server.audit_log();
  EXPECT_NE(log.find("\"reason\":\"unknown operator token\""), std::string::npos) << log;
  EXPECT_EQ(log.find(kToken), std::string::npos);
}

// Counters checked against the calls made: 4 threads, each 20 good queries,
// 5 refused by the guard and 5 refused by PostgreSQL (42P01).
TEST(Operator, MetricsCountTheCallsMadeUnderLoad) {
  TestServer server(with_operator([](config::Config& c) { c.pool_max = 3; }));
  auto before = http_request(server.port(), "GET", "/metrics", {}, as_operator()).body;
  const double plans_before = sample(before, "fleetmcp_database_seconds_count");
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < 20; ++i)
        if (server.call_tool("query", {{"sql", "SELECT count(*) FROM tracksolid.positions"}})["isError"] != false)
          ++wrong;
      for (int i = 0; i < 5; ++i)
        if (server.call_tool("query", {{"sql", "DELETE FROM tickets.inc"}})["isError"] != true) ++wrong;
      for (int i = 0; i < 5; ++i)
        if (server.call_tool("query", {{"sql", "SELECT * FROM tracksolid.no_such_table"}})["isError"] != true) ++wrong;
    });
  // Scrapes while the calls run must neither fail nor disturb them.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(http_request(server.port(), "GET", "/metrics", {}, as_operator()).status, 200);
  for (auto& c : callers) c.join();
  ASSERT_EQ(wrong, 0);
  const std::string m = http_request(server.port(), "GET", "/metrics", {}, as_operator()).body;
  EXPECT_EQ(sample(m, "fleetmcp_tool_calls_total{tool=\"query\",outcome=\"ok\"}"), 80);
  EXPECT_EQ(sample(m, "fleetmcp_tool_calls_total{tool=\"query\",outcome=\"denied\"}"), 20);
  EXPECT_EQ(sample(m, "fleetmcp_tool_calls_total{tool=\"query\",outcome=\"db_error\"}"), 20);
  EXPECT_EQ(sample(m, "fleetmcp_tool_call_duration_seconds_count{tool=\"query\"}"), 120);
  EXPECT_EQ(sample(m, "fleetmcp_tool_call_duration_seconds_bucket{tool=\"query\",le=\"+Inf\"}"), 120);
  EXPECT_EQ(sample(m, "fleetmcp_requests_total{method=\"tools/call\",outcome=\"ok\"}"), 120);
  EXPECT_EQ(sample(m, "fleetmcp_rows_returned_total{tool=\"query\"}"), 80);
  EXPECT_EQ(sample(m, "fleetmcp_guard_rejections_total{rule=\"statement_kind\"}"), 20);
  EXPECT_EQ(sample(m, "fleetmcp_postgres_errors_total{class=\"42\"}"), 20);
  EXPECT_EQ(sample(m, "fleetmcp_analyst_tool_calls_total{analyst=\"tester\",outcome=\"ok\"}"), 80);
  // A call that reached PostgreSQL ran one plan, and a missing table one more
  // (the nearest names for the hint); refused ones none.
  EXPECT_EQ(sample(m, "fleetmcp_database_seconds_count") - plans_before, 80 + 2 * 20);
  EXPECT_EQ(sample(m, "fleetmcp_queue_wait_seconds_count") - plans_before, 80 + 2 * 20);
  EXPECT_EQ(sample(m, "fleetmcp_pool_max_connections"), 3);
  EXPECT_LE(sample(m, "fleetmcp_pool_connections_opened_total"),
            3 + sample(m, "fleetmcp_pool_connections_closed_total"));
  EXPECT_LE(sample(m, "fleetmcp_pool_connections_closed_total"), sample(m, "fleetmcp_pool_connections_opened_total"));
  EXPECT_EQ(sample(m, "fleetmcp_pool_connections{state=\"busy\"}"), 0);
  EXPECT_EQ(sample(m, "fleetmcp_pool_waiting"), 0);
  EXPECT_GT(sample(m, "process_resident_memory_bytes"), 0);
  // Every histogram's buckets grow with their bound.
  std::istringstream in(m);
  std::map<std::string, double> last;
  const std::regex bucket(R"re(^(\w+)_bucket\{(.*?),?le="[^"]+"\} (\d+)$)re");
  for (std::string line; std::getline(in, line);) {
    std::smatch match;
    if (!std::regex_match(line, match, bucket)) continue;
    const std::string series = match[1].str() + "{" + match[2].str() + "}";
    const double value = std::stod(match[3]);
    if (last.count(series)) {
      EXPECT_GE(value, last[series]) << line;
    }
    last[series] = value;
  }
  EXPECT_FALSE(last.empty());
}

// What the page shows while a slow query runs, and after.
TEST(Operator, StatusShowsTheRunningQueryThenItsShape) {
  const std::string tag = test_tag("fleetmcp-status-page");
  TestServer server(with_operator([&](config::Config& c) { c.database_url = tagged_url(tag); }));
  const std::string sql = "SELECT count(*) AS n FROM generate_series(1, 20000) a, generate_series(1, 20000) b";
  std::thread slow([&] { server.call_tool("query", {{"sql", sql}}); });
  Admin admin;
  std::string page;
  const bool seen = eventually([&] {
    page = http_request(server.port(), "GET", "/status", {}, as_operator()).body;
    return page.find("generate_series(1, 20000)") != std::string::npos && query_running(admin, tag);
  });
  ASSERT_TRUE(seen) << page;
  EXPECT_NE(page.find("<td>tester</td><td>query</td>"), std::string::npos) << page;
  admin.exec("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE " + of_server(tag));
  slow.join();
  page = http_request(server.port(), "GET", "/status", {}, as_operator()).body;
  EXPECT_NE(page.find("Nothing is running."), std::string::npos);
  const auto shapes = page.find("id=by-time");
  ASSERT_NE(shapes, std::string::npos);
  EXPECT_NE(page.find("generate_series(1, 20000)", shapes), std::string::npos) << page;
  EXPECT_NE(page.find("role " + std::string("analytics_ro")), std::string::npos);
}

// /readyz's details (the self-audit's findings) reach an operator's token
// even through a proxy, and nobody else there.
TEST(Operator, ReadyzDetailsFollowTheOperatorToken) {
  TestServer server(with_operator());
  server.call_tool("list_schemas", nlohmann::json::object());  // the self-audit has run
  std::map<std::string, std::string> proxied = {{"X-Forwarded-For", "203.0.113.7"}};
  auto anonymous = http_request(server.port(), "GET", "/readyz", {}, proxied).json_body();
  EXPECT_FALSE(anonymous.contains("warnings")) << anonymous.dump();
  proxied["Authorization"] = std::string("Bearer ") + kOperatorToken;
  auto operator_view = http_request(server.port(), "GET", "/readyz", {}, proxied).json_body();
  EXPECT_TRUE(operator_view.contains("warnings")) << operator_view.dump();
}
