// A client that goes away, or cancels, stops its query in PostgreSQL.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

// Long enough to still run when we look, short enough to end on its own.
const char* kSlowSql = "SELECT count(*) FROM generate_series(1, 20000) a, generate_series(1, 20000) b";

std::string tool_call_body(int id) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"},
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
    const std::string request = std::string("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ") + kToken +
                                "\r\nContent-Type: application/json\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body;
    asio::write(socket, asio::buffer(request));
    ASSERT_TRUE(eventually([&] { return backends(admin, tag, "active") == 1; }));
  }  // the socket closes here: the client is gone
  EXPECT_TRUE(eventually([&] { return backends(admin, tag, "active") == 0; }, 20));
  // The connection survived the cancel (57014 is not a disconnect) and serves again.
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
  auto r = server.post({{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"},
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
  ASSERT_TRUE(eventually([&] { return server.app().pool().stats().idle == 0 && server.app().pool().stats().open == 1; }));
  json queued_result;
  std::thread queued([&] {
    queued_result = server.post({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/call"},
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

}  // namespace
}  // namespace fleetmcp::testing
