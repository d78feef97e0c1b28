// A client that goes away, or cancels, stops its query in PostgreSQL.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <mutex>
#include <random>
#include <thread>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

// Long enough to still run when we look, short enough to end on its own.
const char* kSlowSql = "SELECT count(*) FROM generate_series(1, 20000) a, generate_series(1, 20000) b";

std::string tool_call_body(int id) {
  return json{{"jsonrpc", "2.0"},
              {"id", id},
              {"method", "tools/call"},
              {"params", {{"name", "query"}, {"arguments", {{"sql", kSlowSql}}}}}}
      .dump();
}

TEST(Cancel, AClientThatDisconnectsStopsItsQuery) {
  const std::string tag = test_tag("fleetmcp-cancel-hangup");
  TestServer server([&](config::Config& c) {
    c.database_url = tagged_url(tag);
    c.statement_timeout_ms = 60000;
  });
  Admin admin;
  {
    namespace asio = boost::asio;
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
    const std::string body = tool_call_body(1);
    const std::string request =
        std::string("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ") + kToken +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    asio::write(socket, asio::buffer(request));
    ASSERT_TRUE(eventually([&] { return backends(admin, tag, "active") == 1; }));
  }  // the socket closes here: the client is gone
  EXPECT_TRUE(eventually([&] { return backends(admin, tag, "active") == 0; }, 20));
  // The server serves again: the connection that was sent a cancel is replaced,
  // never reused (a late cancel could stop the next statement on it).
  EXPECT_EQ(server.call_tool("query", {{"sql", "SELECT 1 AS one"}})["isError"], false);
}

TEST(Cancel, NotificationsCancelledStopsTheQuery) {
  const std::string tag = test_tag("fleetmcp-cancel-notification");
  TestServer server([&](config::Config& c) {
    c.database_url = tagged_url(tag);
    c.statement_timeout_ms = 60000;
  });
  Admin admin;
  json result;
  std::thread call([&] { result = server.post(json::parse(tool_call_body(42))).json_body(); });
  ASSERT_TRUE(eventually([&] { return backends(admin, tag, "active") == 1; }));
  // Another caller's cancel for the same id does nothing.
  auto other = http_request(server.port(), "POST", "/mcp",
                            R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":43}})",
                            {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(other.status, 202);
  EXPECT_EQ(backends(admin, tag, "active"), 1);
  auto r = server.post({{"jsonrpc", "2.0"},
                        {"method", "notifications/cancelled"},
                        {"params", {{"requestId", 42}, {"reason", "user pressed stop"}}}});
  EXPECT_EQ(r.status, 202);
  call.join();
  EXPECT_EQ(result["result"]["isError"], true);
  EXPECT_NE(result["result"]["content"][0]["text"].get<std::string>().find("Cancelled"), std::string::npos)
      << result.dump();
  EXPECT_TRUE(eventually([&] { return backends(admin, tag, "active") == 0; }, 20));
}

TEST(Cancel, ARequestCancelledWhileQueuedLeavesTheQueue) {
  TestServer server([&](config::Config& c) {
    c.pool_max = 1;
    c.statement_timeout_ms = 60000;
    c.queue_timeout_ms = 120000;
  });
  json slow_result;
  std::thread slow([&] { slow_result = server.post(json::parse(tool_call_body(1))).json_body(); });
  ASSERT_TRUE(
      eventually([&] { return server.app().pool().stats().idle == 0 && server.app().pool().stats().open == 1; }));
  json queued_result;
  std::thread queued([&] {
    queued_result = server
                        .post({{"jsonrpc", "2.0"},
                               {"id", 2},
                               {"method", "tools/call"},
                               {"params", {{"name", "query"}, {"arguments", {{"sql", "SELECT 1"}}}}}})
                        .json_body();
  });
  ASSERT_TRUE(eventually([&] { return server.app().pool().stats().waiting == 1; }));
  server.post({{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 2}}}});
  queued.join();  // answered at once, not after the slow query
  EXPECT_EQ(server.app().pool().stats().waiting, 0u);
  EXPECT_NE(queued_result["result"]["content"][0]["text"].get<std::string>().find("Cancelled"), std::string::npos)
      << queued_result.dump();
  server.post({{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 1}}}});
  slow.join();
  EXPECT_EQ(slow_result["result"]["isError"], true);
}

// A cancel that arrives as its call finishes must stop nothing else: not the
// statement of the next call on the same pooled connection (a late action of
// the cancel signal, or a PQcancel still on its way to the backend). Callers
// that never cancel share two connections with callers that cancel at random
// moments around the end of their calls; every never-cancelled call succeeds.
TEST(Cancel, CancelsFiredAsCallsFinishStopNoOtherCall) {
  TestServer server([&](config::Config& c) {
    c.pool_max = 2;
    c.queue_timeout_ms = 120000;
  });
  std::atomic<int> next_id{1000};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> bystander_failures;
  int bystander_calls = 0, cancelled_calls = 0;
  auto call = [&](int id, const std::string& sql) {
    return server
        .post({{"jsonrpc", "2.0"},
               {"id", id},
               {"method", "tools/call"},
               {"params", {{"name", "query"}, {"arguments", {{"sql", sql}}}}}})
        .json_body();
  };
  std::vector<std::thread> threads;
  for (int b = 0; b < 3; ++b)
    threads.emplace_back([&] {
      while (!stop) {
        json r = call(next_id++, "SELECT count(*) AS n FROM generate_series(1, 400000)");
        std::lock_guard lock(mu);
        ++bystander_calls;
        if (r["result"]["isError"] != false) bystander_failures.push_back(r.dump());
      }
    });
  for (int c = 0; c < 3; ++c)
    threads.emplace_back([&, c] {
      std::mt19937 random(c);
      while (!stop) {
        const int id = next_id++;
        std::thread canceller([&, id, delay = std::uniform_int_distribution<int>(0, 40)(random)] {
          std::this_thread::sleep_for(std::chrono::milliseconds(delay));
          server.post({{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", id}}}});
        });
        json r = call(id, "SELECT count(*) AS n FROM generate_series(1, 100000)");
        canceller.join();
        std::lock_guard lock(mu);
        ++cancelled_calls;
      }
    });
  std::this_thread::sleep_for(std::chrono::seconds(8));
  stop = true;
  for (auto& t : threads) t.join();
  std::printf("%d calls never cancelled, %d calls cancelled around their end\n", bystander_calls, cancelled_calls);
  EXPECT_GT(bystander_calls, 10);
  EXPECT_TRUE(bystander_failures.empty())
      << bystander_failures.size() << " failed, the first: " << bystander_failures.front();
  // The pool is whole afterwards: every connection came back or was replaced.
  EXPECT_EQ(server.call_tool("query", {{"sql", "SELECT 1 AS one"}})["isError"], false);
}

}  // namespace
}  // namespace fleetmcp::testing
