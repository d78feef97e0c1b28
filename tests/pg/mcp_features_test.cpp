// Resources, prompts, completions, pagination and progress over SSE, against
// the fixture database (tests/fixtures/fleet_small.sql), in both eras.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <set>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

constexpr const char* kModern = "2026-07-28";

json rpc(int id, const std::string& method, json params = json::object()) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

// A 2026-07-28 request: _meta in the body, the version and method (and name)
// mirrored in headers.
HttpResponse modern(TestServer& server, const std::string& method, json params = json::object(),
                    std::map<std::string, std::string> extra = {}) {
  params["_meta"]["io.modelcontextprotocol/protocolVersion"] = kModern;
  params["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json::object();
  extra["MCP-Protocol-Version"] = kModern;
  extra["Mcp-Method"] = method;
  if (params.contains("name")) extra["Mcp-Name"] = params["name"];
  if (params.contains("uri")) extra["Mcp-Name"] = params["uri"];
  return server.post(rpc(1, method, std::move(params)), std::move(extra));
}

// Every page of a list method, following nextCursor.
std::vector<json> all_pages(TestServer& server, const std::string& method, const std::string& key) {
  std::vector<json> items;
  json params = json::object();
  for (int page = 0; page < 100; ++page) {
    json r = server.post(rpc(page, method, params)).json_body();
    EXPECT_TRUE(r.contains("result")) << r.dump();
    for (const auto& item : r["result"][key]) items.push_back(item);
    if (!r["result"].contains("nextCursor")) break;
    params["cursor"] = r["result"]["nextCursor"];
  }
  return items;
}

TEST(Resources, EveryReadableRelationAndFunctionIsListedAcrossPages) {
  TestServer server([](config::Config& c) { c.page_size = 3; });
  std::set<std::string> uris;
  for (const auto& r : all_pages(server, "resources/list", "resources")) {
    EXPECT_TRUE(uris.insert(r["uri"].get<std::string>()).second) << "listed twice: " << r.dump();
    EXPECT_TRUE(r.contains("name") && r.contains("mimeType")) << r.dump();
  }
  EXPECT_TRUE(uris.count("fleetmcp://overview"));
  EXPECT_TRUE(uris.count("fleetmcp://table/tickets/inc"));
  EXPECT_TRUE(uris.count("fleetmcp://table/reporting/v_daily_summary"));  // a view
  EXPECT_TRUE(uris.count("fleetmcp://table/reporting/v_trips"));          // a materialized view
  EXPECT_TRUE(uris.count("fleetmcp://function/reporting/fn_points"));
  EXPECT_TRUE(uris.count("fleetmcp://table/reporting/odd%22name"));  // names are percent-encoded
  for (const auto& uri : uris) EXPECT_EQ(uri.find("secret_stuff"), std::string::npos) << uri;
  EXPECT_GT(uris.size(), 9u);  // more than three pages
}

// What a column means, where the model reads first: its comment, the values
// an enum or a one-column CHECK allows, or the CHECK itself.
TEST(Resources, TheOverviewCarriesEachColumnsNoteFromTheCatalog) {
  OwnCluster db;
  Admin admin(db.env().admin_url);
  admin.exec(
      "CREATE TYPE tickets.priority AS ENUM ('P1', 'P2', 'P3');"
      "CREATE TABLE tickets.sla (priority tickets.priority, hours int CHECK (hours > 0),"
      " status text CHECK (status IN ('met', 'breached', 'open')), note text);"
      "COMMENT ON COLUMN tickets.sla.hours IS 'hours to resolve, from opening';"
      "GRANT SELECT ON tickets.sla TO analytics_ro");
  TestServer server([&](config::Config& c) { c.database_url = db.env().database_url; });
  json r = server.post(rpc(1, "resources/read", {{"uri", "fleetmcp://overview"}})).json_body();
  const std::string text = r["result"]["contents"][0]["text"];
  EXPECT_NE(text.find("- sla (table): priority tickets.priority [one of P1|P2|P3], "
                      "hours integer [hours to resolve, from opening; check (hours > 0)], "
                      "status text [one of met|breached|open], note text\n"),
            std::string::npos)
      << text;
  // Only what is true is said: no note on a column without one.
  EXPECT_EQ(text.find("note text ["), std::string::npos) << text;
}

TEST(Resources, ATableResourceHasColumnsKeysIndexesAndEstimate) {
  TestServer server;
  json r = server.post(rpc(1, "resources/read", {{"uri", "fleetmcp://table/tickets/users"}})).json_body();
  ASSERT_TRUE(r.contains("result")) << r.dump();
  const json& content = r["result"]["contents"][0];
  EXPECT_EQ(content["uri"], "fleetmcp://table/tickets/users");
  EXPECT_EQ(content["mimeType"], "application/json");
  json doc = json::parse(content["text"].get<std::string>());
  EXPECT_EQ(doc["kind"], "table");
  EXPECT_EQ(doc["primary_key"], json::array({"id"}));
  EXPECT_EQ(doc["indexes"][0]["name"], "users_pkey");
  EXPECT_TRUE(doc["row_estimate"].is_number()) << doc.dump();
  std::map<std::string, json> columns;
  for (const auto& c : doc["columns"]) columns[c["name"]] = c;
  EXPECT_EQ(columns["api_key"]["sensitive"], true);
  EXPECT_FALSE(columns["email"].contains("sensitive"));  // said only where true
  EXPECT_EQ(columns["email"]["type"], "text");

  // A name that needs quoting, addressed through the template.
  r = server.post(rpc(2, "resources/read", {{"uri", "fleetmcp://table/reporting/odd%22name"}})).json_body();
  ASSERT_TRUE(r.contains("result")) << r.dump();
  EXPECT_EQ(json::parse(r["result"]["contents"][0]["text"].get<std::string>())["name"], "odd\"name");

  r = server.post(rpc(3, "resources/read", {{"uri", "fleetmcp://function/reporting/fn_points"}})).json_body();
  ASSERT_TRUE(r.contains("result")) << r.dump();
  doc = json::parse(r["result"]["contents"][0]["text"].get<std::string>());
  EXPECT_EQ(doc["overloads"][0]["returns"], "bigint");
}

TEST(Resources, TheOverviewNamesRelationsButNoSensitiveColumn) {
  TestServer server;
  json r = server.post(rpc(1, "resources/read", {{"uri", "fleetmcp://overview"}})).json_body();
  const std::string text = r["result"]["contents"][0]["text"];
  EXPECT_EQ(r["result"]["contents"][0]["mimeType"], "text/markdown");
  EXPECT_NE(text.find("## tickets"), std::string::npos) << text;
  EXPECT_NE(text.find("inc_open_sla (view)"), std::string::npos) << text;
  EXPECT_NE(text.find("email text"), std::string::npos) << text;
  EXPECT_EQ(text.find("password_hash"), std::string::npos) << text;
  EXPECT_EQ(text.find("api_key"), std::string::npos) << text;
  EXPECT_EQ(text.find("secret_stuff"), std::string::npos) << text;
}

TEST(Resources, UnknownOrUnreadableResourcesAreNotFoundInBothEras) {
  TestServer server;
  for (const char* uri : {"fleetmcp://table/secret_stuff/keys", "fleetmcp://table/tickets/nope",
                          "fleetmcp://table/tickets", "file:///etc/passwd", "fleetmcp://table/tickets/a%2"}) {
    json r = server.post(rpc(1, "resources/read", {{"uri", uri}})).json_body();
    EXPECT_EQ(r["error"]["code"], -32002) << uri << " " << r.dump();  // legacy: resource not found
    auto m = modern(server, "resources/read", {{"uri", uri}});
    EXPECT_EQ(m.status, 200);
    EXPECT_EQ(m.json_body()["error"]["code"], -32602) << uri << " " << m.body;  // modern: invalid params
  }
}

TEST(Resources, ModernListsCarryCachingHintsAndTemplatesNameSchemaAndTable) {
  TestServer server;
  for (const char* method : {"resources/list", "resources/templates/list", "prompts/list", "tools/list"}) {
    auto r = modern(server, method);
    ASSERT_EQ(r.status, 200) << method << " " << r.body;
    json result = r.json_body()["result"];
    EXPECT_EQ(result["resultType"], "complete") << method;
    EXPECT_TRUE(result["ttlMs"].is_number_integer()) << method;
    EXPECT_EQ(result["cacheScope"], "public") << method;
  }
  json t = modern(server, "resources/templates/list").json_body()["result"]["resourceTemplates"];
  EXPECT_EQ(t[0]["uriTemplate"], "fleetmcp://table/{schema}/{table}");
  json read = modern(server, "resources/read", {{"uri", "fleetmcp://table/tickets/inc"}}).json_body()["result"];
  EXPECT_TRUE(read["ttlMs"].is_number_integer());
  // Capabilities say what is served.
  json discovered = modern(server, "server/discover").json_body()["result"];
  for (const char* c : {"tools", "resources", "prompts", "completions"})
    EXPECT_TRUE(discovered["capabilities"].contains(c)) << c;
}

TEST(Pagination, InvalidAndForeignCursorsAreInvalidParams) {
  TestServer server([](config::Config& c) { c.page_size = 2; });
  json first = server.post(rpc(1, "tools/list")).json_body();
  ASSERT_EQ(first["result"]["tools"].size(), 2u);
  const json cursor = first["result"]["nextCursor"];
  ASSERT_TRUE(cursor.is_string());
  EXPECT_EQ(all_pages(server, "tools/list", "tools").size(), 6u);
  for (const json& bad : {json("bogus"), json("!!!!"), json(42), json("")}) {
    json r = server.post(rpc(2, "tools/list", {{"cursor", bad}})).json_body();
    EXPECT_EQ(r["error"]["code"], -32602) << bad.dump();
  }
  // A tools/list cursor means nothing to prompts/list.
  json r = server.post(rpc(3, "prompts/list", {{"cursor", cursor}})).json_body();
  EXPECT_EQ(r["error"]["code"], -32602) << r.dump();
  auto m = modern(server, "tools/list", {{"cursor", "bogus"}});
  EXPECT_EQ(m.json_body()["error"]["code"], -32602);
}

TEST(Prompts, ListedWithArgumentsAndRenderedWithThem) {
  TestServer server;
  std::set<std::string> names;
  for (const auto& p : all_pages(server, "prompts/list", "prompts")) names.insert(p["name"]);
  for (const char* n : {"daily_fleet_summary", "open_tickets_by_sla", "fuel_anomalies", "explore_table"})
    EXPECT_TRUE(names.count(n)) << n;

  json r = server
               .post(rpc(1, "prompts/get",
                         {{"name", "daily_fleet_summary"},
                          {"arguments", {{"start_date", "2025-03-01"}, {"end_date", "2025-03-07"}}}}))
               .json_body();
  const json& message = r["result"]["messages"][0];
  EXPECT_EQ(message["role"], "user");
  const std::string text = message["content"]["text"];
  EXPECT_NE(text.find("reporting.v_daily_summary"), std::string::npos);
  EXPECT_NE(text.find("'2025-03-01' AND '2025-03-07'"), std::string::npos) << text;

  r = server.post(rpc(2, "prompts/get", {{"name", "daily_fleet_summary"}, {"arguments", json::object()}})).json_body();
  EXPECT_EQ(r["error"]["code"], -32602);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("start_date"), std::string::npos);
  r = server
          .post(rpc(3, "prompts/get",
                    {{"name", "fuel_anomalies"}, {"arguments", {{"start_date", "2025-03-01'; DROP TABLE x; --"}}}}))
          .json_body();
  EXPECT_EQ(r["error"]["code"], -32602);
  r = server.post(rpc(4, "prompts/get", {{"name", "no_such_prompt"}})).json_body();
  EXPECT_EQ(r["error"]["code"], -32602);
  auto m = modern(server, "prompts/get", {{"name", "open_tickets_by_sla"}, {"arguments", {{"priority", "1"}}}});
  EXPECT_EQ(m.json_body()["result"]["resultType"], "complete") << m.body;
}

TEST(Completion, SchemaAndTableNamesFromTheCatalog) {
  TestServer server;
  auto complete = [&](json ref, const std::string& argument, const std::string& value, json context = nullptr) {
    json params = {{"ref", ref}, {"argument", {{"name", argument}, {"value", value}}}};
    if (!context.is_null()) params["context"] = {{"arguments", context}};
    return server.post(rpc(1, "completion/complete", params)).json_body();
  };
  const json prompt = {{"type", "ref/prompt"}, {"name", "explore_table"}};
  json r = complete(prompt, "schema", "t");
  EXPECT_EQ(r["result"]["completion"]["values"], json::array({"tickets", "tracksolid"})) << r.dump();
  r = complete(prompt, "table", "inc", {{"schema", "tickets"}});
  EXPECT_EQ(r["result"]["completion"]["values"], json::array({"inc", "inc_open_sla"})) << r.dump();
  EXPECT_EQ(r["result"]["completion"]["hasMore"], false);
  r = complete(prompt, "table", "k", {{"schema", "secret_stuff"}});  // not readable: nothing
  EXPECT_EQ(r["result"]["completion"]["values"], json::array());
  const json tmpl = {{"type", "ref/resource"}, {"uri", "fleetmcp://table/{schema}/{table}"}};
  r = complete(tmpl, "table", "v_");
  EXPECT_EQ(r["result"]["completion"]["values"], json::array({"v_daily_summary", "v_trips"})) << r.dump();
  r = complete({{"type", "ref/prompt"}, {"name", "nope"}}, "schema", "");
  EXPECT_EQ(r["error"]["code"], -32602);
}

// Server-Sent Events: the events of one response, as JSON messages.
std::vector<json> sse_messages(const std::string& body) {
  std::vector<json> out;
  std::size_t at = 0;
  while ((at = body.find("data: ", at)) != std::string::npos) {
    const std::size_t end = body.find('\n', at);
    out.push_back(json::parse(body.substr(at + 6, end - at - 6)));
    at = end;
  }
  return out;
}

// About 3 s here (0.6 s was too short for a single periodic tick): long
// enough for the ticks every second to show up, whatever the machine.
const char* kSlowSql = "SELECT count(*) AS n FROM generate_series(1, 10000) a, generate_series(1, 10000) b";

json query_with_progress(const char* sql, const json& token) {
  return {{"name", "query"}, {"arguments", {{"sql", sql}}}, {"_meta", {{"progressToken", token}}}};
}

TEST(Progress, AProgressTokenGetsAnEventStreamWithProgressThenTheResult) {
  TestServer server;
  auto r = server.post(rpc(5, "tools/call", query_with_progress(kSlowSql, "tok-1")),
                       {{"Accept", "application/json, text/event-stream"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/event-stream");
  EXPECT_EQ(r.headers["x-accel-buffering"], "no");
  auto messages = sse_messages(r.body);
  // The start, at least one tick while the statement runs, the result: a
  // stream with only the start and the result would have no periodic progress.
  ASSERT_GE(messages.size(), 3u) << r.body;
  double last = -1;
  for (std::size_t i = 0; i + 1 < messages.size(); ++i) {
    EXPECT_EQ(messages[i]["method"], "notifications/progress");
    EXPECT_EQ(messages[i]["params"]["progressToken"], "tok-1");
    const double progress = messages[i]["params"]["progress"];
    EXPECT_GT(progress, last);  // always increasing
    last = progress;
  }
  EXPECT_EQ(messages[0]["params"]["message"], "query started");
  EXPECT_NE(messages[1]["params"]["message"].get<std::string>().find("rows fetched"), std::string::npos)
      << messages[1].dump();
  const json& final = messages.back();
  EXPECT_EQ(final["id"], 5);
  EXPECT_EQ(final["result"]["structuredContent"]["rows"][0]["n"], 100000000);

  // The same call without a token, or from a client that takes only JSON: plain JSON.
  r = server.post(rpc(6, "tools/call", query_with_progress("SELECT 1 AS one", 7)), {{"Accept", "application/json"}});
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(r.json_body()["result"]["structuredContent"]["rows"][0]["one"], 1);
  r = server.post(rpc(7, "tools/call", {{"name", "query"}, {"arguments", {{"sql", "SELECT 1 AS one"}}}}),
                  {{"Accept", "application/json, text/event-stream"}});
  EXPECT_EQ(r.headers["content-type"], "application/json");
  // The connection stays usable after a streamed response (keep-alive).
  auto again = modern(server, "tools/call", query_with_progress("SELECT 2 AS two", "tok-2"),
                      {{"Accept", "application/json, text/event-stream"}});
  messages = sse_messages(again.body);
  ASSERT_FALSE(messages.empty()) << again.body;
  EXPECT_EQ(messages.back()["result"]["resultType"], "complete");
}

TEST(Progress, ClosingTheEventStreamCancelsTheQuery) {
  const std::string tag = test_tag("fleetmcp-sse-close");
  TestServer server([&](config::Config& c) {
    c.database_url = tagged_url(tag);
    c.statement_timeout_ms = 60000;
  });
  Admin admin;
  auto active = [&] { return backends(admin, tag, "active"); };
  {
    namespace asio = boost::asio;
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
    json params =
        query_with_progress("SELECT count(*) FROM generate_series(1, 20000) a, generate_series(1, 20000) b", "tok");
    params["_meta"]["io.modelcontextprotocol/protocolVersion"] = kModern;
    params["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json::object();
    const std::string body = rpc(1, "tools/call", params).dump();
    const std::string request =
        std::string("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ") + kToken +
        "\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
        "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: query\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    asio::write(socket, asio::buffer(request));
    asio::streambuf head;
    asio::read_until(socket, head, "notifications/progress");  // the stream has begun
    ASSERT_TRUE(eventually([&] { return active() == 1; }));
  }  // the client closes the stream
  EXPECT_TRUE(eventually([&] { return active() == 0; }, 20));
}

}  // namespace
}  // namespace fleetmcp::testing
