// The HTTP surface: auth, limits, methods, both eras over the wire, and hostile
// input that must leave the server answering.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

json ping() { return {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}; }

class HttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TestServer(); }
  static void TearDownTestSuite() { delete server_; }
  static void expect_alive() {
    auto r = server_->post(ping());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.json_body()["result"], json::object());
  }
  static TestServer* server_;
};
TestServer* HttpTest::server_ = nullptr;

TEST_F(HttpTest, HealthzSaysOkAndNothingElse) {
  auto r = http_request(server_->port(), "GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"ok\":true}");
  auto ready = http_request(server_->port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.json_body()["ready"], true);
}

TEST_F(HttpTest, MissingOrWrongTokenIs401BeforeAnyWork) {
  const std::string body = ping().dump();
  for (const auto& headers : std::vector<std::map<std::string, std::string>>{
           {}, {{"Authorization", "Bearer wrong-token-123"}}, {{"Authorization", std::string("Basic ") + kToken}},
           {{"Authorization", std::string("Bearer ") + kToken + "x"}}}) {
    auto r = http_request(server_->port(), "POST", "/mcp", body, headers);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.headers["www-authenticate"].rfind("Bearer", 0), 0u);
  }
  auto good = http_request(server_->port(), "POST", "/mcp", body,
                           {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(good.status, 200);
}

TEST_F(HttpTest, ForeignOriginsAndHostsAreRefused) {
  const std::string body = ping().dump();
  auto with = [&](std::map<std::string, std::string> headers) {
    headers["Authorization"] = std::string("Bearer ") + kToken;
    return http_request(server_->port(), "POST", "/mcp", body, headers).status;
  };
  EXPECT_EQ(with({{"Origin", "http://evil.example"}}), 403);
  EXPECT_EQ(with({{"Origin", "https://localhost.evil.example"}}), 403);
  EXPECT_EQ(with({{"Origin", "not a url"}}), 403);
  EXPECT_EQ(with({{"Origin", "http://localhost:6274"}}), 200);  // e.g. the Inspector's UI
  EXPECT_EQ(with({{"Origin", "http://127.0.0.1:8892"}}), 200);
  EXPECT_EQ(with({{"Origin", "http://[::1]:8892"}}), 200);
  // Bound to loopback: a foreign Host is a rebinding attempt.
  EXPECT_EQ(with({{"Host", "evil.example"}}), 403);
  EXPECT_EQ(with({{"Host", "localhost:8892"}}), 200);

  TestServer proxied([](config::Config& c) { c.allowed_hosts = {"fleet.example.com"}; });
  auto status = [&](const std::string& host, const std::string& origin) {
    std::map<std::string, std::string> h = {{"Authorization", std::string("Bearer ") + kToken}, {"Host", host}};
    if (!origin.empty()) h["Origin"] = origin;
    return http_request(proxied.port(), "POST", "/mcp", body, h).status;
  };
  EXPECT_EQ(status("fleet.example.com", ""), 200);
  EXPECT_EQ(status("fleet.example.com", "https://fleet.example.com"), 200);
  EXPECT_EQ(status("other.example.com", ""), 403);

  TestServer open([](config::Config& c) { c.host_check = config::Config::HostCheck::Off; });
  EXPECT_EQ(http_request(open.port(), "POST", "/mcp", body,
                         {{"Authorization", std::string("Bearer ") + kToken}, {"Host", "anything.example"},
                          {"Origin", "http://evil.example"}})
                .status,
            200);
}

TEST_F(HttpTest, OnlyPostOnTheMcpEndpoint) {
  for (const char* method : {"GET", "DELETE", "PUT"}) {
    auto r = http_request(server_->port(), method, "/mcp", {},
                          {{"Authorization", std::string("Bearer ") + kToken}});
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.headers["allow"], "POST");
  }
  EXPECT_EQ(http_request(server_->port(), "GET", "/nowhere").status, 404);
  // POST / is an alias of POST /mcp.
  auto alias = http_request(server_->port(), "POST", "/", ping().dump(),
                            {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(alias.status, 200);
}

TEST_F(HttpTest, OversizedBodyIs413) {
  // Announce a body over the 1 MiB limit; the server answers from the headers
  // alone, without reading (or buffering) the body.
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  const std::string head = std::string("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ") + kToken +
                           "\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string((1 << 20) + 1) + "\r\n\r\n{";
  asio::write(socket, asio::buffer(head));
  boost::beast::flat_buffer buffer;
  boost::beast::http::response<boost::beast::http::string_body> res;
  boost::beast::http::read(socket, buffer, res);
  EXPECT_EQ(res.result_int(), 413);
  expect_alive();
}

TEST_F(HttpTest, HostileBodiesGetClearErrorsAndTheServerStays) {
  const std::pair<std::string, int> cases[] = {
      {"{\"jsonrpc\":\"2.0\",", -32700},
      {"\xff\xfe garbage", -32700},
      {"[]", -32600},
      {"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", -32600},
      {"null", -32600},
      {std::string(100000, '['), -32700},
  };
  for (const auto& [body, code] : cases) {
    auto r = http_request(server_->port(), "POST", "/mcp", body,
                          {{"Authorization", std::string("Bearer ") + kToken}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.json_body()["error"]["code"], code) << r.body;
  }
  expect_alive();
}

TEST_F(HttpTest, LegacyHandshakeOverTheWire) {
  auto r = server_->post({{"jsonrpc", "2.0"}, {"id", 0}, {"method", "initialize"},
                          {"params", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()},
                                      {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.count("mcp-session-id"), 0u);  // stateless: never a session
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(r.json_body()["result"]["protocolVersion"], "2025-06-18");
  auto n = server_->post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}},
                         {{"MCP-Protocol-Version", "2025-06-18"}});
  EXPECT_EQ(n.status, 202);
  EXPECT_TRUE(n.body.empty());
  auto bad = server_->post({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/list"}},
                           {{"MCP-Protocol-Version", "1999-01-01"}});
  EXPECT_EQ(bad.status, 400);
}

TEST_F(HttpTest, ModernRequestsOverTheWire) {
  json meta = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
               {"io.modelcontextprotocol/clientCapabilities", json::object()}};
  json call = {{"jsonrpc", "2.0"}, {"id", "c1"}, {"method", "tools/call"},
               {"params", {{"name", "query"}, {"arguments", {{"sql", "SELECT 2 AS two"}}}, {"_meta", meta}}}};
  auto r = server_->post(call, {{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"},
                                {"Mcp-Name", "query"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json result = r.json_body()["result"];
  EXPECT_EQ(result["resultType"], "complete");
  EXPECT_EQ(result["structuredContent"]["rows"][0]["two"], 2);
  EXPECT_EQ(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "fleetmcp");
  auto mismatch = server_->post(call, {{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"},
                                       {"Mcp-Name", "sample_table"}});
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(mismatch.json_body()["error"]["code"], -32020);
  EXPECT_EQ(mismatch.json_body()["id"], "c1");
}

TEST_F(HttpTest, KeepAliveServesManyRequestsOnOneConnection) {
  // Beast's client in http_request opens one connection per call; here the
  // server must also honour several requests on one socket.
  namespace asio = boost::asio;
  namespace bhttp = boost::beast::http;
  asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  for (int i = 0; i < 3; ++i) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/mcp", 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::authorization, std::string("Bearer ") + kToken);
    req.body() = ping().dump();
    req.prepare_payload();
    bhttp::write(stream, req);
    boost::beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res);
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_TRUE(res.keep_alive());
  }
}

}  // namespace
}  // namespace fleetmcp::testing
