// The HTTP surface: auth, limits, methods, both eras over the wire, and hostile
// input that must leave the server answering.
#include <gtest/gtest.h>
#include <libdeflate.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

json ping() { return {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}; }

// A fresh connection to `port` that has sent `bytes`; reads on it give up
// after `seconds`.
boost::beast::tcp_stream sent(boost::asio::io_context& io, unsigned short port, const std::string& bytes, int seconds) {
  namespace asio = boost::asio;
  boost::beast::tcp_stream stream(io);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  // (tcp_stream's own timeout binds asynchronous operations only.)
  const timeval limit{seconds, 0};
  setsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  boost::system::error_code ec;
  asio::write(stream.socket(), asio::buffer(bytes), ec);
  return stream;
}

// Sends `bytes` on a fresh connection and reads one response, giving up
// after `seconds` (0 when nothing came back in time).
int raw_status(unsigned short port, const std::string& bytes, int seconds = 10) {
  boost::asio::io_context io;
  auto stream = sent(io, port, bytes, seconds);
  boost::system::error_code ec;
  boost::beast::flat_buffer buffer;
  boost::beast::http::response<boost::beast::http::string_body> res;
  boost::beast::http::read(stream, buffer, res, ec);
  return ec ? 0 : res.result_int();
}

// Sends `bytes` on a fresh connection and returns everything the server sends
// until it closes the connection (or `seconds` pass).
std::string raw_exchange(unsigned short port, const std::string& bytes, int seconds = 5) {
  boost::asio::io_context io;
  auto stream = sent(io, port, bytes, seconds);
  boost::system::error_code ec;
  std::string out;
  char chunk[4096];
  for (;;) {
    const std::size_t n = stream.read_some(boost::asio::buffer(chunk), ec);
    out.append(chunk, n);
    if (ec) return out;
  }
}

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

// A body length a proxy in front could read differently (an unknown
// Transfer-Encoding, or one in HTTP/1.0) is refused and the connection closed:
// what follows is never taken for a second request.
TEST_F(HttpTest, AmbiguousBodyFramingIs400AndNothingIsSmuggled) {
  for (const std::string coding : {"gzip", "identity", "xchunked", "chunked, identity", "gzip, chunked"}) {
    const std::string out = raw_exchange(
        server_->port(), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: " + coding +
                             "\r\n\r\nGET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << coding << ": " << out;
    EXPECT_NE(out.find("unsupported Transfer-Encoding"), std::string::npos) << out;
    EXPECT_EQ(out.find("ready"), std::string::npos) << coding << " smuggled a request: " << out;
  }
  const std::string old = raw_exchange(
      server_->port(), "POST /mcp HTTP/1.0\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(old.rfind("HTTP/1.0 400", 0), 0u) << old;
  expect_alive();
}

// HEAD gets the headers (with the length a GET's body would have) and no body.
TEST_F(HttpTest, HeadHasNoBody) {
  for (const char* path : {"/healthz", "/readyz"}) {
    const std::string out = raw_exchange(
        server_->port(), std::string("HEAD ") + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
    EXPECT_NE(out.find("Content-Length: "), std::string::npos) << out;
    EXPECT_EQ(out.substr(out.find("\r\n\r\n") + 4), "") << path << ": " << out;
  }
  EXPECT_EQ(http_request(server_->port(), "POST", "/readyz").status, 405);
}

TEST_F(HttpTest, MissingOrWrongTokenIs401BeforeAnyWork) {
  const std::string body = ping().dump();
  for (const auto& headers :
       std::vector<std::map<std::string, std::string>>{{},
                                                       {{"Authorization", "Bearer wrong-token-123"}},
                                                       {{"Authorization", std::string("Basic ") + kToken}},
                                                       {{"Authorization", std::string("Bearer ") + kToken + "x"}}}) {
    auto r = http_request(server_->port(), "POST", "/mcp", body, headers);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.headers["www-authenticate"].rfind("Bearer", 0), 0u);
  }
  auto good = http_request(server_->port(), "POST", "/mcp", body, {{"Authorization", std::string("Bearer ") + kToken}});
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
                         {{"Authorization", std::string("Bearer ") + kToken},
                          {"Host", "anything.example"},
                          {"Origin", "http://evil.example"}})
                .status,
            200);
}

TEST_F(HttpTest, OnlyPostOnTheMcpEndpoint) {
  for (const char* method : {"GET", "DELETE", "PUT"}) {
    auto r = http_request(server_->port(), method, "/mcp", {}, {{"Authorization", std::string("Bearer ") + kToken}});
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.headers["allow"], "POST");
  }
  EXPECT_EQ(http_request(server_->port(), "GET", "/nowhere").status, 404);
  // POST / is an alias of POST /mcp.
  auto alias =
      http_request(server_->port(), "POST", "/", ping().dump(), {{"Authorization", std::string("Bearer ") + kToken}});
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
                           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string((1 << 20) + 1) +
                           "\r\n\r\n{";
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
      {std::string(100000, '['), -32600},  // refused by depth before any parsing
      {R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":)" + std::string(100000, '[') +
           std::string(100000, ']') + "}}",
       -32600},
  };
  for (const auto& [body, code] : cases) {
    auto r = http_request(server_->port(), "POST", "/mcp", body, {{"Authorization", std::string("Bearer ") + kToken}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.json_body()["error"]["code"], code) << r.body;
  }
  expect_alive();
}

TEST_F(HttpTest, LegacyHandshakeOverTheWire) {
  auto r = server_->post(initialize_request("2025-06-18", 0));
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
  json call = {{"jsonrpc", "2.0"},
               {"id", "c1"},
               {"method", "tools/call"},
               {"params", {{"name", "query"}, {"arguments", {{"sql", "SELECT 2 AS two"}}}, {"_meta", meta}}}};
  auto r = server_->post(call,
                         {{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"}, {"Mcp-Name", "query"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json result = r.json_body()["result"];
  EXPECT_EQ(result["resultType"], "complete");
  EXPECT_EQ(result["structuredContent"]["rows"][0]["two"], 2);
  EXPECT_EQ(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "fleetmcp");
  auto mismatch = server_->post(
      call, {{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"}, {"Mcp-Name", "sample_table"}});
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(mismatch.json_body()["error"]["code"], -32020);
  EXPECT_EQ(mismatch.json_body()["id"], "c1");
}

// A client that accepts gzip (every Node and Python client does) gets rows
// compressed; the same reply, byte for byte, once unpacked.
TEST_F(HttpTest, RowsGoGzippedToClientsThatAcceptIt) {
  json call = {{"jsonrpc", "2.0"},
               {"id", 1},
               {"method", "tools/call"},
               {"params",
                {{"name", "query"},
                 {"arguments", {{"sql", "SELECT * FROM tracksolid.positions ORDER BY id"}, {"max_rows", 200}}}}}};
  auto plain = server_->post(call);
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.headers.count("content-encoding"), 0u);
  EXPECT_EQ(plain.headers["vary"], "Accept-Encoding");
  auto packed = server_->post(call, {{"Accept-Encoding", "gzip, deflate, br"}});
  ASSERT_EQ(packed.status, 200);
  EXPECT_EQ(packed.headers["content-encoding"], "gzip");
  EXPECT_LT(packed.body.size(), plain.body.size() / 3);
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  std::string unpacked(plain.body.size() + 1, '\0');
  std::size_t n = 0;
  EXPECT_EQ(libdeflate_gzip_decompress(d, packed.body.data(), packed.body.size(), unpacked.data(), unpacked.size(), &n),
            LIBDEFLATE_SUCCESS);
  libdeflate_free_decompressor(d);
  unpacked.resize(n);
  EXPECT_EQ(json::parse(unpacked)["result"], plain.json_body()["result"]);
  // Small replies are not worth the CPU.
  auto small = server_->post({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}}, {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(small.headers.count("content-encoding"), 0u);
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
    req.set(bhttp::field::content_type, "application/json");
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

TEST_F(HttpTest, WronglyTypedParamsGetInvalidParamsAndTheConnectionStays) {
  const json cases[] = {
      {{"jsonrpc", "2.0"},
       {"id", 1},
       {"method", "tools/call"},
       {"params", {{"name", "query"}, {"arguments", {{"sql", "SELECT 1"}}}, {"_meta", "x"}}}},
      {{"jsonrpc", "2.0"},
       {"id", 2},
       {"method", "completion/complete"},
       {"params", {{"ref", {{"type", 5}}}, {"argument", {{"name", "a"}, {"value", "b"}}}}}},
      {{"jsonrpc", "2.0"},
       {"id", 3},
       {"method", "completion/complete"},
       {"params",
        {{"ref", {{"type", "ref/prompt"}, {"name", "x"}}},
         {"argument", {{"name", "a"}, {"value", "b"}}},
         {"context", 7}}}},
  };
  for (const auto& message : cases) {
    auto r = server_->post(message);
    ASSERT_NE(r.status, 0) << message.dump();
    EXPECT_EQ(r.json_body()["error"]["code"], -32602) << r.body;
  }
  expect_alive();
}

TEST_F(HttpTest, OnlyExactLoopbackHostsAndNoNullOrigin) {
  const std::map<std::string, std::string> auth = {{"Authorization", std::string("Bearer ") + kToken}};
  auto with = [&](std::map<std::string, std::string> extra) {
    extra.insert(auth.begin(), auth.end());
    return http_request(server_->port(), "POST", "/mcp", ping().dump(), extra).status;
  };
  EXPECT_EQ(with({{"Host", "127.evil.example"}}), 403);  // a prefix of 127. is no address
  EXPECT_EQ(with({{"Host", "localhost.evil.example:8892"}}), 403);
  EXPECT_EQ(with({{"Origin", "null"}}), 403);  // a sandboxed page or a local file
  EXPECT_EQ(with({{"Origin", "http://127.evil.example"}}), 403);
  EXPECT_EQ(with({{"Host", "127.0.0.2:1"}}), 200);
  // Two Host headers: a proxy may read the other one.
  EXPECT_EQ(
      raw_status(server_->port(), std::string("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n"
                                              "Authorization: Bearer ") +
                                      kToken + "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"),
      400);
  EXPECT_EQ(with({{"Host", "[::1]:8892"}, {"Origin", "http://localhost:3000"}}), 200);
}

TEST_F(HttpTest, BodiesABrowserMaySendWithoutAPreflightGet415) {
  auto status = [&](const std::string& type) {
    return http_request(server_->port(), "POST", "/mcp", ping().dump(),
                        {{"Authorization", std::string("Bearer ") + kToken}, {"Content-Type", type}})
        .status;
  };
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "",
                           "application/json-seq", "text/json", "application/json; charset=utf-16"})
    EXPECT_EQ(status(type), 415) << type;
  EXPECT_EQ(http_request(server_->port(), "POST", "/mcp", ping().dump(),
                         {{"Authorization", std::string("Bearer ") + kToken}, {"Content-Encoding", "gzip"}})
                .status,
            415);
  for (const char* type : {"application/json", "application/json; charset=utf-8", "Application/JSON"})
    EXPECT_EQ(status(type), 200) << type;
  const int before = server_->app().database().plans_sent();
  auto r = http_request(server_->port(), "POST", "/mcp",
                        json{{"jsonrpc", "2.0"},
                             {"id", 1},
                             {"method", "tools/call"},
                             {"params", {{"name", "query"}, {"arguments", {{"sql", "SELECT 1"}}}}}}
                            .dump(),
                        {{"Authorization", std::string("Bearer ") + kToken}, {"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(server_->app().database().plans_sent(), before);  // never executed
}

TEST_F(HttpTest, TheTokenIsCheckedBeforeTheBodyIsRead) {
  // A megabyte announced and never sent: refused from the headers, at once.
  const std::string head =
      "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 1000000\r\n\r\n";
  EXPECT_EQ(raw_status(server_->port(), head), 401);
  EXPECT_EQ(raw_status(server_->port(),
                       "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong-token\r\n"
                       "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"),
            401);
  expect_alive();
}

TEST(HttpLimits, ConnectionsOverTheCapGet503AndTheServerRecovers) {
  TestServer server([](config::Config& c) { c.max_connections = 2; });
  namespace asio = boost::asio;
  asio::io_context io;
  // Two keep-alive connections of an analyst (a valid token proves them), each served.
  std::vector<std::unique_ptr<boost::beast::tcp_stream>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::make_unique<boost::beast::tcp_stream>(io));
    held.back()->connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
    boost::beast::http::request<boost::beast::http::string_body> req{boost::beast::http::verb::post, "/mcp", 11};
    req.set(boost::beast::http::field::host, "127.0.0.1");
    req.set(boost::beast::http::field::authorization, std::string("Bearer ") + kToken);
    req.set(boost::beast::http::field::content_type, "application/json");
    req.body() = ping().dump();
    req.prepare_payload();
    boost::beast::http::write(*held.back(), req);
    boost::beast::flat_buffer buffer;
    boost::beast::http::response<boost::beast::http::string_body> res;
    boost::beast::http::read(*held.back(), buffer, res);
    ASSERT_EQ(res.result_int(), 200);
  }
  EXPECT_EQ(raw_status(server.port(), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 503);
  held.clear();  // the two leave: their slots come back
  EXPECT_TRUE(eventually([&] {
    return raw_status(server.port(), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n") == 200;
  }));
}

TEST(HttpLimits, ReadyzAnswersFromItsLastProbeWhileThePoolIsFull) {
  // One connection, held by a slow query; the queue would wait a minute.
  const std::string tag = test_tag("readyz-full-pool");
  TestServer server([&](config::Config& c) {
    c.database_url = tagged_url(tag);
    c.pool_max = 1;
    c.queue_timeout_ms = 60000;
  });
  ASSERT_EQ(http_request(server.port(), "GET", "/readyz").status, 200);  // the first probe
  std::atomic<bool> slow_done{false};
  std::thread slow([&] {
    json r = server.call_tool("query", {{"sql", "SELECT count(*) FROM generate_series(1, 40000000) g"}});
    slow_done = true;
    EXPECT_EQ(r["isError"], false) << r.dump();
  });
  Admin admin;
  ASSERT_TRUE(eventually([&] { return query_running(admin, tag); }));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(http_request(server.port(), "GET", "/readyz").status, 200);
  EXPECT_FALSE(slow_done.load());  // all fifty answered while the only connection was busy
  slow.join();
}

// CPU seconds the process has used (utime + stime).
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long ticks = 0;
  for (int i = 3; fields >> field && i <= 15; ++i)
    if (i >= 14) ticks += std::stol(field);  // fields 14 and 15
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

TEST(HttpLimits, OutOfDescriptorsTheListenerBacksOffAndRecovers) {
  ServerProcess server({{"DATABASE_URL", tagged_url(test_tag("emfile"))}});
  ASSERT_EQ(http_request(server.port(), "GET", "/healthz").status, 200);
  // A descriptor limit two above what the server holds now: fewer than a
  // loop's reactor needs (three), should an accepted connection be the first
  // I/O object of its loop.
  int open_now = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(server.pid()) + "/fd")) {
    (void)entry;
    ++open_now;
  }
  rlimit before{};
  ASSERT_EQ(prlimit(server.pid(), RLIMIT_NOFILE, nullptr, &before), 0);
  const rlimit tight{static_cast<rlim_t>(open_now + 2), before.rlim_max};  // the soft limit only
  ASSERT_EQ(prlimit(server.pid(), RLIMIT_NOFILE, &tight, nullptr), 0);
  namespace asio = boost::asio;
  asio::io_context io;
  std::vector<std::unique_ptr<asio::ip::tcp::socket>> flood;
  for (int i = 0; i < 32; ++i) {
    flood.push_back(std::make_unique<asio::ip::tcp::socket>(io));
    flood.back()->connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  }
  // Connections wait in the backlog while accept fails with EMFILE: a
  // listener that retried at once would spend these two seconds on it.
  const double cpu_before = cpu_seconds(server.pid());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_LT(cpu_seconds(server.pid()) - cpu_before, 0.5);
  flood.clear();
  ASSERT_EQ(prlimit(server.pid(), RLIMIT_NOFILE, &before, nullptr), 0);
  // Recovering may take a few backoffs (under load a connect was once refused
  // while the backlog drained): what counts is that the listener comes back.
  EXPECT_TRUE(eventually([&] {
    try {
      return http_request(server.port(), "GET", "/healthz").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  }));
  EXPECT_EQ(kill(server.pid(), 0), 0) << "the server exited";
}

TEST(HttpLimits, SilentConnectionsGiveWayToAnalystsAtTheCap) {
  TestServer server([](config::Config& c) { c.max_connections = 4; });
  namespace asio = boost::asio;
  asio::io_context io;
  std::vector<std::unique_ptr<asio::ip::tcp::socket>> silent;
  for (int i = 0; i < 8; ++i) {  // more than the cap: each new one takes an older one's place
    silent.push_back(std::make_unique<asio::ip::tcp::socket>(io));
    silent.back()->connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  }
  auto r = server.post(ping());
  EXPECT_EQ(r.status, 200);  // an analyst is served although every slot was taken
  // The oldest silent sockets were ended by the server.
  char byte;
  boost::system::error_code ec;
  silent.front()->read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
}

}  // namespace fleetmcp::testing
