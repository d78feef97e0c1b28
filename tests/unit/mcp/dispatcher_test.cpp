// JSON-RPC dispatch in both eras, on paths that never reach the database.
#include "mcp/dispatcher.hpp"

#include <gtest/gtest.h>

#include "pg/database.hpp"
#include "support/dispatch.hpp"
#include "support/memory_runner.hpp"
#include "support/messages.hpp"

namespace fleetmcp::mcp {
namespace {

using nlohmann::json;
namespace asio = boost::asio;

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest()
      : pool_(io_, pg::PoolSettings{.conninfo = "host=/nonexistent"}),
        db_(pool_, {}),
        audit_(stderr, 100),
        dispatcher_(config_, db_, audit_, ServerInfo{"fleetmcp", "test"}) {}

  Reply call(const std::string& body, Headers headers = {}) {
    return fleetmcp::testing::dispatch(io_, dispatcher_, body, std::move(headers));
  }
  json call_json(const std::string& body, Headers headers = {}) {
    Reply r = call(body, headers);
    last_status_ = r.status;
    return json::parse(r.body);
  }
  static Headers http(std::string version, std::string method, std::optional<std::string> name = {}) {
    return Headers{true, std::move(version), std::move(method), std::move(name)};
  }
  static std::string modern(const std::string& method, const json& params = json::object(),
                            const json& meta_extra = json::object()) {
    json p = params;
    p["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                  {"io.modelcontextprotocol/clientCapabilities", json::object()}};
    p["_meta"].update(meta_extra);
    return json{{"jsonrpc", "2.0"}, {"id", 7}, {"method", method}, {"params", p}}.dump();
  }

  asio::io_context io_;
  config::Config config_;
  pg::Pool pool_;
  pg::Database db_;
  audit::Sink audit_;
  Dispatcher dispatcher_;
  int last_status_ = 0;
};

TEST_F(DispatcherTest, MalformedMessagesGetJsonRpcErrors) {
  struct Case {
    const char* body;
    int code;
  };
  const Case cases[] = {
      {"{not json", -32700},
      {"", -32700},
      {"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", -32600},
      {"42", -32600},
      {"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", -32600},
      {"{\"jsonrpc\":\"2.0\",\"id\":1}", -32600},
      {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", -32600},
      {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", -32600},
      {"{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}", -32600},
      {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[1]}", -32602},
  };
  for (const auto& c : cases) {
    json r = call_json(c.body);
    EXPECT_EQ(r["error"]["code"], c.code) << c.body;
    EXPECT_EQ(last_status_, 400) << c.body;
    EXPECT_EQ(r["jsonrpc"], "2.0");
  }
}

TEST_F(DispatcherTest, LegacyInitializeNegotiatesTheVersion) {
  auto init = [&](const char* version) {
    return call_json(std::string(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":")") +
                     version + R"(","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
  };
  EXPECT_EQ(init("2025-06-18")["result"]["protocolVersion"], "2025-06-18");
  EXPECT_EQ(init("2025-11-25")["result"]["protocolVersion"], "2025-11-25");
  EXPECT_EQ(init("2024-11-05")["result"]["protocolVersion"], "2025-11-25");
  json r = init("2026-07-28");  // never answer a legacy handshake with the modern version
  EXPECT_EQ(r["result"]["protocolVersion"], "2025-11-25");
  EXPECT_EQ(r["result"]["serverInfo"]["name"], "fleetmcp");
  EXPECT_TRUE(r["result"]["capabilities"].contains("tools"));
  EXPECT_FALSE(r["result"]["instructions"].get<std::string>().empty());
}

TEST_F(DispatcherTest, NotificationsAreAcceptedWithoutABody) {
  Reply r = call(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_EQ(r.status, 202);
  EXPECT_TRUE(r.body.empty());
  r = call(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}})");
  EXPECT_EQ(r.status, 202);
  r = call(R"({"jsonrpc":"2.0","id":9,"result":{}})");  // a client's response
  EXPECT_EQ(r.status, 202);
}

TEST_F(DispatcherTest, LegacyPingListAndUnknownMethod) {
  json r = call_json(R"({"jsonrpc":"2.0","id":"a","method":"ping"})");
  EXPECT_EQ(r["id"], "a");
  EXPECT_EQ(r["result"], json::object());
  r = call_json(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})", http("2025-06-18", "tools/list"));
  ASSERT_EQ(r["result"]["tools"].size(), 6u);
  EXPECT_FALSE(r["result"].contains("resultType"));
  for (const auto& t : r["result"]["tools"]) {
    EXPECT_EQ(t["annotations"]["readOnlyHint"], true);
    EXPECT_EQ(t["inputSchema"]["type"], "object");
    EXPECT_EQ(t["outputSchema"]["type"], "object");
  }
  r = call_json(R"({"jsonrpc":"2.0","id":3,"method":"no/such_method"})");
  EXPECT_EQ(r["error"]["code"], -32601);
  EXPECT_EQ(last_status_, 200);
}

TEST_F(DispatcherTest, LegacyRequestWithUnsupportedVersionHeaderIs400) {
  json r = call_json(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})", http("2024-01-01", "tools/list"));
  EXPECT_EQ(last_status_, 400);
  EXPECT_EQ(r["error"]["code"], -32022);
  EXPECT_EQ(r["id"], 2);
  // A modern version header without the modern _meta is a malformed modern request.
  r = call_json(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})", http("2026-07-28", "tools/list"));
  EXPECT_EQ(last_status_, 400);
  EXPECT_EQ(r["error"]["code"], -32602);
}

TEST_F(DispatcherTest, ModernDiscoverAndToolsList) {
  json r = call_json(modern("server/discover"), http("2026-07-28", "server/discover"));
  EXPECT_EQ(last_status_, 200);
  const json& result = r["result"];
  EXPECT_EQ(result["resultType"], "complete");
  EXPECT_EQ(result["supportedVersions"], json::array({"2026-07-28", "2025-11-25", "2025-06-18"}));
  EXPECT_TRUE(result["capabilities"].contains("tools"));
  EXPECT_TRUE(result["ttlMs"].is_number_integer());
  EXPECT_EQ(result["cacheScope"], "public");
  EXPECT_EQ(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "fleetmcp");

  r = call_json(modern("tools/list"), http("2026-07-28", "tools/list"));
  EXPECT_EQ(r["result"]["resultType"], "complete");
  EXPECT_EQ(r["result"]["tools"].size(), 6u);
  EXPECT_TRUE(r["result"].contains("ttlMs"));
  EXPECT_TRUE(r["result"].contains("cacheScope"));
}

TEST_F(DispatcherTest, ModernHeadersAreValidatedAgainstTheBody) {
  struct Case {
    Headers headers;
    std::string body;
    int status;
    int code;
  };
  const std::vector<Case> cases = {
      {http("2025-11-25", "tools/list"), modern("tools/list"), 400, -32020},
      {http("2026-07-28", "tools/call"), modern("tools/list"), 400, -32020},
      {Headers{true, "2026-07-28", std::nullopt, std::nullopt}, modern("tools/list"), 400, -32020},
      {Headers{true, std::nullopt, "tools/list", std::nullopt}, modern("tools/list"), 400, -32020},
      {http("2026-07-28", "tools/call", "list_tables"), modern("tools/call", {{"name", "query"}}), 400, -32020},
      {http("2026-07-28", "tools/call"), modern("tools/call", {{"name", "query"}}), 400, -32020},
      {http("2099-01-01", "tools/list"),
       modern("tools/list", json::object(), {{"io.modelcontextprotocol/protocolVersion", "2099-01-01"}}), 400, -32022},
      {http("2026-07-28", "tools/list"),
       modern("tools/list", json::object(), {{"io.modelcontextprotocol/clientCapabilities", nullptr}}), 400, -32602},
      {http("2026-07-28", "ping"), modern("ping"), 404, -32601},
      {http("2026-07-28", "initialize"), modern("initialize"), 404, -32601},
  };
  for (const auto& c : cases) {
    json r = call_json(c.body, c.headers);
    EXPECT_EQ(last_status_, c.status) << c.body;
    EXPECT_EQ(r["error"]["code"], c.code) << c.body << " " << r.dump();
    EXPECT_EQ(r["id"], 7) << "errors echo the request id";
  }
  json unsupported =
      call_json(modern("tools/list", json::object(), {{"io.modelcontextprotocol/protocolVersion", "2099-01-01"}}),
                http("2099-01-01", "tools/list"));
  EXPECT_EQ(unsupported["error"]["data"]["requested"], "2099-01-01");
  EXPECT_EQ(unsupported["error"]["data"]["supported"][0], "2026-07-28");
}

TEST_F(DispatcherTest, ModernMcpNameMayBeBase64Encoded) {
  // "query" in base64 is cXVlcnk=; the guard rejects the SQL before any database work.
  json r = call_json(modern("tools/call", {{"name", "query"}, {"arguments", {{"sql", "DROP TABLE x"}}}}),
                     http("2026-07-28", "tools/call", "=?base64?cXVlcnk=?="));
  EXPECT_EQ(last_status_, 200);
  EXPECT_EQ(r["result"]["isError"], true);
  EXPECT_EQ(r["result"]["resultType"], "complete");
}

TEST_F(DispatcherTest, ToolCallErrorsBeforeTheDatabase) {
  json r = call_json(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}})");
  EXPECT_EQ(r["error"]["code"], -32602);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("Unknown tool: nope"), std::string::npos);
  r = call_json(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query","arguments":[1]}})");
  EXPECT_EQ(r["error"]["code"], -32602);

  // Argument problems are tool errors the model can correct.
  r = call_json(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query","arguments":{}}})");
  EXPECT_EQ(r["result"]["isError"], true);
  EXPECT_NE(r["result"]["content"][0]["text"].get<std::string>().find("missing required argument 'sql'"),
            std::string::npos);
  r = call_json(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT 1","max_rows":"ten"}}})");
  EXPECT_EQ(r["result"]["isError"], true);
  r = call_json(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_tables","arguments":{"schema":"secret_stuff"}}})");
  EXPECT_EQ(r["result"]["isError"], true);
  EXPECT_NE(r["result"]["content"][0]["text"].get<std::string>().find(
                "readable schemas: reporting, tracksolid, tickets, fuel"),
            std::string::npos);
  r = call_json(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query","arguments":{"sql":"UPDATE t SET a = 1"}}})");
  const std::string text = r["result"]["content"][0]["text"];
  EXPECT_NE(text.find("rule statement_kind"), std::string::npos) << text;
  EXPECT_NE(text.find("UPDATE"), std::string::npos) << text;
}

// Every member of every method's message, given each wrong JSON type: the
// answer is one JSON-RPC object (an error naming the member, or a result),
// never an exception, and the dispatcher answers the next request.
class HostileParamsTest : public ::testing::Test {
 protected:
  Reply call(const std::string& body, Headers headers = {}) {
    return fleetmcp::testing::dispatch(io_, dispatcher_, body, std::move(headers));
  }

  asio::io_context io_;
  config::Config config_;
  fleetmcp::testing::MemoryRunner db_;
  audit::Sink audit_{stderr, 100};
  Dispatcher dispatcher_{config_, db_, audit_, ServerInfo{"fleetmcp", "test"}};
};

TEST_F(HostileParamsTest, EveryMemberGivenEveryWrongTypeGetsAnAnswer) {
  const json wrong[] = {nullptr,
                        true,
                        5,
                        -1,
                        1e300,
                        "x",
                        json::array(),
                        json::object(),
                        json::array({json::array({json::array()})}),
                        json::object({{"type", 5}})};
  int answered = 0;
  for (const char* text : fleetmcp::testing::kMessages) {
    const json valid = json::parse(text);
    std::vector<json::json_pointer> paths;
    fleetmcp::testing::member_pointers(valid, json::json_pointer(), paths);
    for (const auto& path : paths)
      for (const auto& value : wrong) {
        if (path.empty()) continue;  // the message itself: the envelope tests cover that
        json message = valid;
        message[path] = value;
        const Reply r = call(message.dump());
        if (r.body.empty()) continue;  // a notification (or what became one) is accepted silently
        const json out = json::parse(r.body, nullptr, false);
        ASSERT_TRUE(out.is_object() && out["jsonrpc"] == "2.0" && (out.contains("result") != out.contains("error")))
            << path.to_string() << " = " << value.dump() << " -> " << r.body;
        if (out.contains("error") && out["error"]["code"] == -32603)
          ADD_FAILURE() << "internal error for " << path.to_string() << " = " << value.dump() << ": " << r.body;
        ++answered;
      }
  }
  EXPECT_GT(answered, 500);
  const json ping = json::parse(call(R"({"jsonrpc":"2.0","id":"last","method":"ping"})").body);
  EXPECT_EQ(ping["result"], json::object());
}

TEST_F(HostileParamsTest, TheReviewsCasesNameTheParameter) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT 1"},"_meta":"x"}})",
       "params._meta must be an object"},
      {R"({"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":5},"argument":{"name":"a","value":"b"}}})",
       "params.ref.type must be a string"},
      {R"({"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"fleet_overview"},"argument":{"name":"a","value":"b"},"context":7}})",
       "params.context must be an object"},
      {R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":5}})",
       "params.capabilities must be an object"},
      {R"({"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"nonsense"}})",
       "params.level must be a syslog level"},
      {R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":"x"}}})",
       "clientCapabilities must be an object"},
  };
  for (const auto& [body, message] : cases) {
    const json out = json::parse(call(body).body);
    EXPECT_EQ(out["error"]["code"], -32602) << body;
    EXPECT_NE(out["error"]["message"].get<std::string>().find(message), std::string::npos) << out.dump();
  }
}

TEST_F(HostileParamsTest, DeepNestingIsRefusedAsAnInvalidRequest) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const json out = json::parse(call(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":)" + deep + "}}").body);
  EXPECT_EQ(out["error"]["code"], -32600);
  EXPECT_NE(out["error"]["message"].get<std::string>().find("64 levels"), std::string::npos);
}

}  // namespace
}  // namespace fleetmcp::mcp
