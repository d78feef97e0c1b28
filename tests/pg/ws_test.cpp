// The WebSocket record API (/mcp/ws) through a real WebSocket client (Beast's)
// against the test cluster: every example and error of seed 004, hostile
// filters, redaction, the rate limit, disabled mode, each way to present a
// token, keep-alive and idle close, many connections at once, and a digest
// showing the database unchanged.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <fstream>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

constexpr const char* kSharedToken = "shared-ws-token-5521";

class WsClient {
 public:
  // Connects and asks for the upgrade with `headers`; see upgraded().
  explicit WsClient(unsigned short port, std::map<std::string, std::string> headers = {{"X-MCP-Token", kToken}},
                    const std::string& target = "/mcp/ws")
      : ws_(io()) {
    auto& tcp = beast::get_lowest_layer(ws_);
    tcp.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    // A read that would hang fails the test instead.
    timeval limit{60, 0};
    setsockopt(tcp.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
      for (const auto& [name, value] : headers) req.set(name, value);
    }));
    ws_.handshake(response_, "127.0.0.1", target, handshake_error_);
  }

  bool upgraded() const { return !handshake_error_; }

  void send(const std::string& text) { ws_.write(asio::buffer(text)); }
  std::string receive_text() {
    beast::flat_buffer buffer;
    ws_.read(buffer);
    return beast::buffers_to_string(buffer.data());
  }
  json receive() { return json::parse(receive_text()); }
  json request(const json& message) {
    send(message.dump());
    return receive();
  }
  // Reads until the connection ends: the code of the server's close frame, or
  // -1 when none came. (Our reply to it may fail with a broken pipe when the
  // server has already gone, as after a failed connection: still a close.)
  int wait_for_close() {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    while (!ec) {
      ws_.read(buffer, ec);
      buffer.consume(buffer.size());
    }
    return ws_.reason().code == websocket::close_code::none ? -1 : ws_.reason().code;
  }
  std::string close_reason() const { return std::string(ws_.reason().reason.c_str()); }
  websocket::stream<beast::tcp_stream>& stream() { return ws_; }

 private:
  static asio::io_context& io() {
    static asio::io_context context;  // synchronous calls only: never run
    return context;
  }
  websocket::stream<beast::tcp_stream> ws_;
  websocket::response_type response_;
  boost::system::error_code handshake_error_;
};

// The seed's development settings, with its `tickets` model mapped onto the
// fixture's incidents table (the fleet database has no table named tickets).
void enable(config::Config& c) {
  c.ws_enabled = true;
  c.ws_token = kSharedToken;
  c.ws_models = config::parse_models("users,tickets=tickets.inc,change_log").value();
  c.ws_rate_limit = 100000;
}

json list(const std::string& id, const std::string& model, json params = json::object()) {
  return {{"id", id}, {"action", "list"}, {"model", model}, {"params", std::move(params)}};
}

class WsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TestServer(enable); }
  static void TearDownTestSuite() { delete server_; }
  static TestServer* server_;
};
TestServer* WsTest::server_ = nullptr;

TEST_F(WsTest, SeedListExampleInTheSeedsShape) {
  WsClient ws(server_->port());
  ASSERT_TRUE(ws.upgraded());
  ws.send(R"({"id": "list-users-1", "action": "list", "model": "users",
              "params": {"limit": 50, "offset": 0, "filters": {"is_super_admin": true}}})");
  EXPECT_EQ(ws.receive_text(),
            R"({"id":"list-users-1","status":"ok","data":[{"id":1,"email":"admin@example.com",)"
            R"("first_name":"Admin","last_name":"User","is_super_admin":true}],"count":1,"limit":50,"offset":0})");
}

TEST_F(WsTest, SeedGetAndQueryExamples) {
  WsClient ws(server_->port());
  json got = ws.request({{"id", "get-user-1"}, {"action", "get"}, {"model", "users"}, {"params", {{"id", 1}}}});
  EXPECT_EQ(got, json::parse(R"({"id":"get-user-1","status":"ok","data":{"id":1,"email":"admin@example.com",
                                 "first_name":"Admin","last_name":"User","is_super_admin":true}})"));
  // The seed's query example, on the incident table's own columns.
  json query = ws.request({{"id", "query-tickets-1"},
                           {"action", "query"},
                           {"model", "tickets"},
                           {"params", {{"filters", {{"sla_status", "within"}, {"region", "North"}}}, {"limit", 10}}}});
  EXPECT_EQ(query["status"], "ok") << query;
  EXPECT_EQ(query["count"], 2);
  EXPECT_EQ(query["limit"], 10);
  EXPECT_EQ(query["offset"], 0);
  std::vector<std::string> numbers;
  for (const auto& row : query["data"]) numbers.push_back(row["number"]);
  EXPECT_EQ(numbers, (std::vector<std::string>{"INC0001", "INC0003"}));
  // query orders by a real column.
  json ordered = ws.request({{"id", 3},
                             {"action", "query"},
                             {"model", "tickets"},
                             {"params", {{"order_by", "opened_at"}, {"order", "desc"}, {"limit", 2}}}});
  ASSERT_EQ(ordered["status"], "ok") << ordered;
  EXPECT_EQ(ordered["id"], 3);
  EXPECT_EQ(ordered["data"][0]["number"], "INC0003");
  EXPECT_EQ(ordered["data"][1]["number"], "INC0002");
  // The Python example's two requests; the fixture has ticket 2, not 123.
  json users = ws.request(list("req-1", "users", {{"limit", 10}}));
  EXPECT_EQ(users["count"], 2);
  json ticket = ws.request({{"id", "req-2"}, {"action", "get"}, {"model", "tickets"}, {"params", {{"id", 2}}}});
  EXPECT_EQ(ticket["data"]["number"], "INC0002");
  json missing = ws.request({{"id", "req-3"}, {"action", "get"}, {"model", "tickets"}, {"params", {{"id", 123}}}});
  EXPECT_EQ(missing, json::parse(R"({"id":"req-3","status":"error",
                                     "error":"Record not found: model 'tickets' has no record with id 123"})"));
  // The JavaScript example's list with an equality filter, and paging.
  json breached = ws.request(list("js-1", "tickets", {{"filters", {{"sla_status", "breached"}}}, {"limit", 20}}));
  EXPECT_EQ(breached["count"], 1);
  json page = ws.request(list("page-2", "tickets", {{"limit", 2}, {"offset", 2}}));
  EXPECT_EQ(page["count"], 1);
  EXPECT_EQ(page["data"][0]["id"], 3);
  EXPECT_EQ(page["offset"], 2);
}

TEST_F(WsTest, SeedErrorTexts) {
  WsClient ws(server_->port());
  EXPECT_EQ(ws.request(list("req-1", "sensitive_data")), json::parse(R"({"id":"req-1","status":"error",
                            "error":"Model 'sensitive_data' not allowed. Allowed models: users, tickets, change_log"})"));
  for (const char* action : {"create", "update", "delete", "truncate"})
    EXPECT_EQ(ws.request({{"id", "req-1"}, {"action", action}, {"model", "users"}, {"params", {{"id", 1}}}}),
              json({{"id", "req-1"},
                    {"status", "error"},
                    {"error", std::string("Write operations not allowed in read-only mode: ") + action}}));
  EXPECT_EQ(ws.request({{"id", "req-1"}, {"action", "get"}, {"model", "users"}, {"params", json::object()}}),
            json::parse(R"({"id":"req-1","status":"error","error":"Missing required parameter: id"})"));
  // change_log, the seed's third default model, resolves through the readable schemas.
  EXPECT_EQ(ws.request(list("log", "change_log"))["data"][0]["change"], "raised SLA");
}

TEST_F(WsTest, BadMessagesGetErrorsWithTheirIdAndTheConnectionStays) {
  WsClient ws(server_->port());
  const std::pair<std::string, std::string> cases[] = {
      {R"({"id":"bad-1","action":"list","model":)", "Invalid request: the message is not valid JSON"},
      {"not json at all", "Invalid request: the message is not valid JSON"},
      {"[1,2]", "Invalid request: expected a JSON object {\"id\", \"action\", \"model\", \"params\"}"},
      {R"({"id":"bad-2","model":"users"})", "Missing required field: action"},
      {R"({"id":"bad-3","action":"list"})", "Missing required field: model"},
      {R"({"id":"bad-4","action":7,"model":"users"})", "Invalid field: action must be a string"},
      {R"({"id":"bad-5","action":"list","model":"users","params":[1]})", "Invalid field: params must be an object"},
      {R"({"id":"bad-6","action":"list","model":"users","params":{"limit":0}})",
       "Invalid parameter: limit must be a whole number from 1 to 100"},
      {R"({"id":"bad-7","action":"list","model":"users","params":{"offset":-1}})",
       "Invalid parameter: offset must be a whole number, 0 or more"},
      {R"({"id":"bad-8","action":"list","model":"users","params":{"filter":{"id":1}}})",
       "Unknown parameter 'filter' for list (accepted: filters, limit, offset); query also takes order_by"},
      {R"({"id":"bad-9","action":"list","model":"users","params":{"filters":{"id":[1,2]}}})",
       "Invalid filter value for 'id': only strings, numbers, booleans and null are supported (equality filters only)"},
      {R"({"id":"bad-10","action":"list","model":"users","params":{"filters":{"nope":1}}})",
       "Unknown column 'nope' for model 'users'. Columns: id, email, first_name, last_name, is_super_admin"},
      {R"({"id":"bad-11","action":"get","model":"users","params":{"id":"a\u0000b"}})",
       "Invalid parameter: id: contains a NUL character"},
  };
  for (const auto& [message, error] : cases) {
    ws.send(message);
    json answer = ws.receive();
    EXPECT_EQ(answer["status"], "error") << message;
    EXPECT_EQ(answer["error"], error) << message;
    const json id = json::parse(message, nullptr, false);
    if (!id.is_discarded() && id.is_object()) {
      EXPECT_EQ(answer["id"], id["id"]) << message;
    }
  }
  EXPECT_EQ(ws.request(list("alive", "users"))["status"], "ok");
  // The limit is clamped to the seed's 100, and the answer says so.
  EXPECT_EQ(ws.request(list("big-limit", "users", {{"limit", 500}}))["limit"], 100);
}

TEST_F(WsTest, OversizeMessagesAreRefusedByIdWithoutClosing) {
  WsClient ws(server_->port());
  const std::string big = R"({"id":"big-1","action":"list","model":"users","params":{"filters":{"email":")" +
                          std::string(100000, 'x') + "\"}}}";
  ws.send(big);
  json answer = ws.receive();
  EXPECT_EQ(answer["id"], "big-1");
  EXPECT_EQ(answer["error"],
            "Message too large: " + std::to_string(big.size()) + " bytes (limit 65536, MCP_WS_MAX_MESSAGE_BYTES)");
  EXPECT_EQ(ws.request(list("after-big", "users"))["status"], "ok");
  // Past Beast's ceiling the connection is failed: 1009, message too big.
  ws.send(std::string(17 << 20, ' '));
  EXPECT_EQ(ws.wait_for_close(), static_cast<int>(websocket::close_code::too_big));
}

TEST_F(WsTest, HostileFiltersFindNothingAndChangeNothing) {
  Admin admin;
  const std::string before = database_digest(admin);
  WsClient ws(server_->port());
  const std::string hostile = "x' OR 1=1 --";
  json text = ws.request(list("h1", "users", {{"filters", {{"email", hostile}}}}));
  EXPECT_EQ(text["status"], "ok");
  EXPECT_EQ(text["count"], 0);
  EXPECT_EQ(text["data"], json::array());
  // A typed column: PostgreSQL refuses the value, as a value.
  json typed = ws.request(list("h2", "users", {{"filters", {{"id", hostile}}}}));
  EXPECT_EQ(typed["error"], "PostgreSQL error 22P02: invalid input syntax for type integer: \"x' OR 1=1 --\"") << typed;
  json get = ws.request({{"id", "h3"}, {"action", "get"}, {"model", "users"}, {"params", {{"id", "1 OR 1=1"}}}});
  EXPECT_EQ(get["status"], "error");
  // Names are never spliced: only the relation's own columns, quoted.
  json column = ws.request(list("h4", "users", {{"filters", {{"email\" = email OR \"1", 1}}}}));
  EXPECT_EQ(column["error"].get<std::string>().rfind("Unknown column 'email\" = email OR \"1'", 0), 0u) << column;
  json order = ws.request({{"id", "h5"},
                           {"action", "query"},
                           {"model", "users"},
                           {"params", {{"order_by", "id; DROP TABLE tickets.users"}}}});
  EXPECT_EQ(order["error"].get<std::string>().rfind("Unknown column 'id; DROP TABLE tickets.users'", 0), 0u);
  json model = ws.request(list("h6", "users; DROP TABLE tickets.users"));
  EXPECT_EQ(model["error"].get<std::string>().rfind("Model 'users; DROP TABLE tickets.users' not allowed", 0), 0u);
  for (const char* value : {"%", "_", "\\", "'; SELECT pg_sleep(10); --", "\xe2\x80\x8b"})
    EXPECT_EQ(ws.request(list("h7", "users", {{"filters", {{"last_name", value}}}}))["count"], 0) << value;
  // NULL filters are IS NULL, never = NULL.
  EXPECT_EQ(ws.request(list("h8", "tickets", {{"filters", {{"closed_at", nullptr}}}}))["count"], 1);
  EXPECT_EQ(database_digest(admin), before);
}

TEST_F(WsTest, SensitiveColumnsNeverLeaveAndCannotBeFilteredOn) {
  WsClient ws(server_->port());
  const std::set<std::string> readable = {"id", "email", "first_name", "last_name", "is_super_admin"};
  json users = ws.request(list("r1", "users"));
  ASSERT_EQ(users["count"], 2) << users;
  for (const auto& row : users["data"]) {
    std::set<std::string> keys;
    for (const auto& [key, value] : row.items()) keys.insert(key);
    EXPECT_EQ(keys, readable);
  }
  json one = ws.request({{"id", "r2"}, {"action", "get"}, {"model", "users"}, {"params", {{"id", 2}}}});
  EXPECT_FALSE(one["data"].contains("password_hash"));
  EXPECT_FALSE(one["data"].contains("api_key"));
  // Filtering on a secret would be an oracle for it: refused, with the same
  // answer whether or not the model has such a column.
  for (const char* column : {"password_hash", "api_key", "API_KEY", "totp_secret"}) {
    json r = ws.request(list("r3", "users", {{"filters", {{column, "ak_live_admin"}}}}));
    EXPECT_EQ(r["error"], std::string("Column '") + column +
                              "' is sensitive: it is never returned and cannot be used to filter (MCP_REDACT_COLUMNS)");
  }
  json order =
      ws.request({{"id", "r4"}, {"action", "query"}, {"model", "users"}, {"params", {{"order_by", "api_key"}}}});
  EXPECT_EQ(order["error"],
            "Column 'api_key' is sensitive: it is never returned and cannot be used to order (MCP_REDACT_COLUMNS)");
  const std::string audit = server_->audit_log();
  EXPECT_EQ(audit.find("ak_live"), std::string::npos);
  EXPECT_EQ(audit.find("$2b$12$"), std::string::npos);
}

TEST_F(WsTest, EachWayToPresentATokenNamesTheCaller) {
  const std::string query_token = kSharedToken;
  for (const auto& [headers, target] : std::vector<std::pair<std::map<std::string, std::string>, std::string>>{
           {{{"X-MCP-Token", kToken}}, "/mcp/ws"},
           {{{"Authorization", std::string("Bearer ") + kToken}}, "/mcp/ws"},
           {{}, std::string("/mcp/ws?token=") + kToken},
           {{}, "/mcp/ws?x=1&token=shared%2Dws%2Dtoken%2D5521"}}) {
    WsClient ws(server_->port(), headers, target);
    ASSERT_TRUE(ws.upgraded()) << target;
    EXPECT_EQ(ws.request(list("auth", "change_log"))["status"], "ok") << target;
  }
  const std::string audit = server_->audit_log();
  EXPECT_NE(audit.find(R"("caller":"tester","tool":"ws:connect")"), std::string::npos);
  EXPECT_NE(audit.find(R"("caller":"shared","tool":"ws:list")"), std::string::npos) << audit;
  // The query string is never logged: neither token appears anywhere.
  EXPECT_EQ(audit.find(kToken), std::string::npos);
  EXPECT_EQ(audit.find(query_token), std::string::npos);
  EXPECT_EQ(audit.find("token="), std::string::npos);
}

TEST_F(WsTest, BadOrMissingTokenGetsTheSeedsErrorThenAClose) {
  for (const auto& [headers, target] : std::vector<std::pair<std::map<std::string, std::string>, std::string>>{
           {{}, "/mcp/ws"},
           {{{"X-MCP-Token", "wrong-token-123"}}, "/mcp/ws"},
           {{{"X-MCP-Token", "wrong-token-123"}, {"Authorization", std::string("Bearer ") + kToken}}, "/mcp/ws"},
           {{}, "/mcp/ws?token=wrong-token-123"},
           {{{"Authorization", std::string("Basic ") + kToken}}, "/mcp/ws"}}) {
    WsClient ws(server_->port(), headers, target);
    ASSERT_TRUE(ws.upgraded());
    EXPECT_EQ(ws.receive_text(), R"({"status":"error","error":"Invalid authentication token"})") << target;
    EXPECT_EQ(ws.wait_for_close(), static_cast<int>(websocket::close_code::policy_error));
  }
  EXPECT_NE(server_->audit_log().find(R"("caller":"unknown","tool":"ws:connect")"), std::string::npos);
}

TEST_F(WsTest, ForeignOriginIsRefusedBeforeTheUpgrade) {
  WsClient foreign(server_->port(), {{"X-MCP-Token", kToken}, {"Origin", "http://evil.example"}});
  EXPECT_FALSE(foreign.upgraded());
  auto refused = http_request(server_->port(), "GET", "/mcp/ws", {},
                              {{"Connection", "Upgrade"},
                               {"Upgrade", "websocket"},
                               {"Sec-WebSocket-Version", "13"},
                               {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                               {"X-MCP-Token", kToken},
                               {"Origin", "http://evil.example"}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.json_body()["error"], "forbidden: Origin not allowed (MCP_ALLOWED_HOSTS)");
  WsClient local(server_->port(), {{"X-MCP-Token", kToken}, {"Origin", "http://localhost:3000"}});
  EXPECT_TRUE(local.upgraded());
  // Without an upgrade, the path says what it is.
  auto plain = http_request(server_->port(), "GET", "/mcp/ws");
  EXPECT_EQ(plain.status, 426);
  EXPECT_EQ(plain.headers["upgrade"], "websocket");
}

TEST_F(WsTest, OneAuditLinePerRequestWithoutFilterValues) {
  WsClient ws(server_->port());
  ws.request(list("audit-1", "tickets", {{"filters", {{"summary", "audit-probe-value"}}}}));
  ws.request({{"id", "audit-2"}, {"action", "delete"}, {"model", "tickets"}});
  const std::string audit = server_->audit_log();
  auto line_with = [&](const std::string& piece) {
    std::istringstream lines(audit);
    json found;
    for (std::string line; std::getline(lines, line);)
      if (line.find(piece) != std::string::npos) found = json::parse(line);
    return found;
  };
  json listed = line_with(R"(WHERE \"summary\" = $1)");
  ASSERT_TRUE(listed.is_object()) << audit;
  EXPECT_EQ(listed["tool"], "ws:list");
  EXPECT_EQ(listed["outcome"], "ok");
  EXPECT_EQ(listed["rows"], 0);
  EXPECT_NE(listed["sql"].get<std::string>().find("\"summary\" = $1"), std::string::npos);
  EXPECT_EQ(audit.find("audit-probe-value"), std::string::npos);
  json deleted = line_with(R"("tool":"ws:delete")");
  EXPECT_EQ(deleted["outcome"], "denied");
}

// An action a client made up is audited (and counted) as ws:other, never
// repeated into the log and the metrics.
TEST(Ws, AnInventedActionIsAuditedAsOther) {
  TestServer server([](config::Config& c) { enable(c); });
  WsClient ws(server.port());
  const json answer = ws.request({{"id", 1}, {"action", "<img src=x onerror=alert(1)>"}, {"model", "users"}});
  EXPECT_NE(answer.dump().find("Write operations not allowed"), std::string::npos) << answer.dump();
  const std::string audit = server.audit_log();
  EXPECT_NE(audit.find(R"("tool":"ws:other")"), std::string::npos) << audit;
  EXPECT_EQ(audit.find("onerror"), std::string::npos) << audit;
}

TEST(Ws, DisabledByDefault) {
  TestServer server;  // MCP_ENABLED unset
  WsClient ws(server.port());
  ASSERT_TRUE(ws.upgraded());
  EXPECT_EQ(ws.receive_text(), R"({"status":"error","error":"MCP server is disabled"})");
  EXPECT_EQ(ws.wait_for_close(), static_cast<int>(websocket::close_code::policy_error));
}

TEST(Ws, DefaultModelsResolveThroughTheReadableSchemas) {
  TestServer server([](config::Config& c) {
    c.ws_enabled = true;
    c.ws_models = config::Config().ws_models;
  });
  WsClient ws(server.port());
  EXPECT_EQ(ws.request(list("u", "users"))["count"], 2);
  // The seed's `tickets` names no table in the fleet database: a clear error.
  EXPECT_EQ(ws.request(list("t", "tickets"))["error"],
            "Model 'tickets' is allowed but no table or view named 'tickets' that the database role can read "
            "exists in reporting, tracksolid, tickets, fuel; map the model to one with "
            "MCP_ALLOWED_MODELS=tickets=schema.table");
}

TEST(Ws, RateLimitAnswersThenCloses) {
  TestServer server([](config::Config& c) {
    enable(c);
    c.ws_rate_limit = 3;
  });
  WsClient ws(server.port());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ws.request(list("ok-" + std::to_string(i), "change_log"))["status"], "ok");
  ws.send(list("over", "change_log").dump());
  EXPECT_EQ(ws.receive_text(), R"({"status":"error","error":"Rate limit exceeded: 3 requests per 60s"})");
  EXPECT_EQ(ws.wait_for_close(), static_cast<int>(websocket::close_code::policy_error));
  EXPECT_NE(server.audit_log().find(R"("tool":"ws:rate_limit","truncated":false,"ms":0,"outcome":"denied")"),
            std::string::npos)
      << server.audit_log();
  // Per connection: a new one starts with a full bucket.
  WsClient again(server.port());
  EXPECT_EQ(again.request(list("fresh", "change_log"))["status"], "ok");
}

// The caller's limit spans transports: calls on /mcp and on /mcp/ws draw from
// one bucket, and a new connection starts with none of it back.
TEST(Ws, TheCallersLimitIsSharedWithTheMcpEndpoint) {
  TestServer server([](config::Config& c) {
    enable(c);
    c.calls_per_minute = 3;
  });
  EXPECT_FALSE(server.call_tool("query", {{"sql", "SELECT 1"}}).value("isError", true));
  WsClient ws(server.port());
  EXPECT_EQ(ws.request(list("one", "change_log"))["status"], "ok");
  EXPECT_EQ(ws.request(list("two", "change_log"))["status"], "ok");
  WsClient other(server.port());
  const json over = other.request(list("three", "change_log"));
  EXPECT_EQ(over["status"], "error");
  EXPECT_NE(over.dump().find("3 calls per minute"), std::string::npos) << over;
  EXPECT_EQ(server
                .post({{"jsonrpc", "2.0"},
                       {"id", 9},
                       {"method", "tools/call"},
                       {"params", {{"name", "query"}, {"arguments", {{"sql", "SELECT 1"}}}}}})
                .status,
            429);
}

TEST(Ws, KeepAlivePingsThenIdleClose) {
  TestServer server([](config::Config& c) {
    enable(c);
    c.ws_ping_interval_s = 1;
    c.ws_idle_timeout_s = 3;
  });
  WsClient ws(server.port());
  int pings = 0;
  ws.stream().control_callback([&](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::ping) ++pings;
  });
  EXPECT_EQ(ws.request(list("first", "change_log"))["status"], "ok");
  // Reading answers the pings; after 3 s without a request the server closes.
  EXPECT_EQ(ws.wait_for_close(), static_cast<int>(websocket::close_code::normal));
  EXPECT_EQ(ws.close_reason(), "idle timeout");
  EXPECT_GE(pings, 1);
  EXPECT_TRUE(eventually([&] { return server.app().records().sessions() == 0; }));
}

TEST(Ws, AClientThatStopsAnsweringPingsIsDropped) {
  TestServer server([](config::Config& c) {
    enable(c);
    c.ws_ping_interval_s = 1;
  });
  WsClient ws(server.port());
  ASSERT_TRUE(ws.upgraded());
  EXPECT_TRUE(eventually([&] { return server.app().records().sessions() == 1; }));
  // Never reading, the client never answers a ping: gone after two intervals.
  EXPECT_TRUE(eventually([&] { return server.app().records().sessions() == 0; }));
}

TEST(Ws, HundredsOfConnectionsAtOnce) {
  TestServer server([](config::Config& c) {
    enable(c);
    c.queue_timeout_ms = 300000;  // all queue for 8 connections: on a busy machine too
  });
  constexpr int kConnections = 400;
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<WsClient>(server.port()));
    ASSERT_TRUE(clients.back()->upgraded()) << i;
  }
  EXPECT_EQ(server.app().records().sessions(), static_cast<std::size_t>(kConnections));
  // Every connection has a request in flight at once; all are answered.
  for (int i = 0; i < kConnections; ++i)
    clients[i]->send(list(std::to_string(i), "tickets", {{"limit", 1}, {"offset", i % 3}}).dump());
  for (int i = 0; i < kConnections; ++i) {
    json answer = clients[i]->receive();
    EXPECT_EQ(answer["id"], std::to_string(i));
    EXPECT_EQ(answer["data"][0]["id"], 1 + i % 3) << answer;
  }
  clients.clear();
  EXPECT_TRUE(eventually([&] { return server.app().records().sessions() == 0; }));
}

// What a connection costs the real binary: a thousand of them, each with a
// request answered, then held open.
TEST(Ws, AThousandConnectionsCostLittleMemory) {
  // A long queue deadline: this test is about memory, not about a busy machine.
  ServerProcess server({{"DATABASE_URL", cluster().database_url},
                        {"MCP_ENABLED", "true"},
                        {"MCP_TOKEN", kSharedToken},
                        {"MCP_RATE_LIMIT", "1000"},
                        {"MCP_QUEUE_TIMEOUT_MS", "300000"},
                        {"MCP_ALLOWED_MODELS", "users,tickets=tickets.inc,change_log"}});
  auto open_and_ask = [&](std::vector<std::unique_ptr<WsClient>>& clients, int n) {
    for (int i = 0; i < n; ++i) {
      clients.push_back(
          std::make_unique<WsClient>(server.port(), std::map<std::string, std::string>{{"X-MCP-Token", kSharedToken}}));
      ASSERT_TRUE(clients.back()->upgraded());
      clients.back()->send(list(std::to_string(i), "tickets", {{"limit", 3}}).dump());
    }
    for (auto& c : clients) {
      json answer = c->receive();
      ASSERT_EQ(answer["count"], 3) << answer;
    }
  };
  std::vector<std::unique_ptr<WsClient>> warm, many;
  open_and_ask(warm, 20);  // the pool's connections, the first allocations
  const long before = server.peak_rss_kib();
  constexpr int kConnections = 1000;
  open_and_ask(many, kConnections);
  const long after = server.peak_rss_kib();
  const double per_connection = static_cast<double>(after - before) / kConnections;
  ::testing::Test::RecordProperty("kib_per_connection", std::to_string(per_connection));
  std::printf("server peak RSS: %ld KiB with 20 connections, %ld KiB with %d more (%.1f KiB each)\n", before, after,
              kConnections, per_connection);
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "RSS not meaningful under AddressSanitizer (" << per_connection << " KiB per connection)";
#endif
  // A Beast websocket stream with its buffers, a few coroutine frames and a
  // timer: tens of KiB at most. Buffering per connection would pass this.
  EXPECT_LT(per_connection, 64);
}

// The catalog changing under a running server (own cluster: DDL would disturb
// the digests of tests sharing the test cluster).
TEST(WsOwnCluster, TheRelationIsDescribedAgainWhenItChanges) {
  OwnCluster own;
  Admin admin(own.env().admin_url);
  TestServer server([&](config::Config& c) {
    enable(c);
    c.database_url = own.env().database_url;
    c.ws_models = config::parse_models("probe=tickets.probe").value();
  });
  WsClient ws(server.port());
  EXPECT_EQ(ws.request(list("p0", "probe"))["error"].get<std::string>().rfind("Model 'probe' is allowed but", 0), 0u);
  admin.exec(
      "CREATE TABLE tickets.probe (id int PRIMARY KEY, a text, b text); "
      "INSERT INTO tickets.probe VALUES (1, 'a1', 'b1'); GRANT SELECT ON tickets.probe TO analytics_ro");
  EXPECT_EQ(ws.request(list("p1", "probe"))["data"], json::parse(R"([{"id":1,"a":"a1","b":"b1"}])"));
  admin.exec("ALTER TABLE tickets.probe DROP COLUMN b");
  EXPECT_EQ(ws.request(list("p2", "probe"))["data"], json::parse(R"([{"id":1,"a":"a1"}])"));
  admin.exec("REVOKE SELECT ON tickets.probe FROM analytics_ro; GRANT SELECT (id) ON tickets.probe TO analytics_ro");
  EXPECT_EQ(ws.request(list("p3", "probe"))["data"], json::parse(R"([{"id":1}])"));
  admin.exec("DROP TABLE tickets.probe");
  EXPECT_EQ(ws.request(list("p4", "probe"))["error"].get<std::string>().rfind("Model 'probe' is allowed but", 0), 0u);
}

// A slow relation (a view that sleeps): the statement timeout applies, the
// requests in flight on one connection are bounded, and a client that hangs
// up stops its statements in PostgreSQL.
TEST(WsOwnCluster, StatementTimeoutAndHangUpReachPostgres) {
  OwnCluster own;
  Admin admin(own.env().admin_url);
  admin.exec(
      "CREATE VIEW tickets.slow AS SELECT 1 AS id, pg_sleep(30)::text AS nap; "
      "GRANT SELECT ON tickets.slow TO analytics_ro");
  TestServer server([&](config::Config& c) {
    enable(c);
    c.database_url = own.env().database_url;
    c.statement_timeout_ms = 300;
    c.ws_models = config::parse_models("slow=tickets.slow").value();
  });
  {
    WsClient ws(server.port());
    EXPECT_EQ(ws.request(list("t", "slow"))["error"],
              "Timed out: the statement ran longer than the statement timeout (300 ms) and was cancelled. Narrow "
              "the query (filters, time range, LIMIT) and retry. (SQLSTATE 57014)");
  }
  TestServer patient([&](config::Config& c) {
    enable(c);
    c.database_url = own.env().database_url;
    c.ws_models = config::parse_models("slow=tickets.slow").value();
  });
  const std::string sleeping =
      "SELECT count(*) FROM pg_stat_activity WHERE usename = 'analytics_ro' AND query LIKE '%tickets%slow%' "
      "AND state = 'active'";
  {
    WsClient ws(patient.port());
    // Eight run at once (the pool has eight connections); a ninth in flight is refused.
    for (int i = 0; i < 9; ++i) ws.send(list("h" + std::to_string(i), "slow").dump());
    EXPECT_EQ(ws.receive(), json::parse(R"({"id":"h8","status":"error","error":
      "Too many requests in flight on this connection (at most 8): wait for answers before sending more"})"));
    ASSERT_TRUE(eventually([&] { return admin.scalar(sleeping) == "8"; }));
  }  // hangs up without a close
  EXPECT_TRUE(eventually([&] { return admin.scalar(sleeping) == "0"; }, 10));
}

}  // namespace
}  // namespace fleetmcp::testing
