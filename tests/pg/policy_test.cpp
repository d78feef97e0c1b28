// Per-analyst policy and per-caller limits against the real cluster: who sees
// what (schemas, row caps, mapped roles with row-level security), who is held
// back (calls per minute, calls at once across connections), and the
// self-audit of every mapped role.
#include <gtest/gtest.h>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <fstream>
#include <future>
#include <optional>
#include <thread>

#include <unistd.h>

#include "pg/harness.hpp"

namespace fleetmcp::testing {
namespace {

constexpr const char* kAna = "policy-token-ana-1";
constexpr const char* kBen = "policy-token-ben-1";

// A policy file of the test's own, removed at the end.
struct PolicyFile {
  std::string path;
  explicit PolicyFile(const std::string& text) {
    char name[] = "/tmp/fleetmcp-policy-XXXXXX";
    const int fd = mkstemp(name);
    close(fd);
    path = name;
    std::ofstream(path) << text;
  }
  ~PolicyFile() { std::remove(path.c_str()); }
};

// The mapped roles must be the connection role's to switch to (NOINHERIT:
// membership alone gives it none of their grants). Idempotent, and left in
// place: a run through PgBouncer may be using them at the same time.
// Tests beside this one change catalog rows too; PostgreSQL answers a GRANT
// that meets one of theirs with "tuple concurrently updated": try again.
void grant_mapped_roles() {
  Admin admin;
  for (int attempt = 1;; ++attempt) {
    try {
      admin.exec("GRANT fleetmcp_policy_a, fleetmcp_policy_b TO analytics_ro");
      return;
    } catch (const std::exception& e) {
      if (attempt == 5 || std::string(e.what()).find("concurrently") == std::string::npos) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
    }
  }
}

HttpResponse call_tool_as(TestServer& server, const char* token, const std::string& tool, const json& args,
                          int id = 1) {
  return http_request(
      server.port(), "POST", "/mcp",
      json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", {{"name", tool}, {"arguments", args}}}}
          .dump(),
      {{"Authorization", std::string("Bearer ") + token},
       {"Content-Type", "application/json"},
       {"Accept", "application/json, text/event-stream"}});
}

HttpResponse call_as(TestServer& server, const char* token, const std::string& sql, int id = 1) {
  return call_tool_as(server, token, "query", {{"sql", sql}}, id);
}

json rows_of(const HttpResponse& res) {
  EXPECT_EQ(res.status, 200) << res.body;
  const json body = res.json_body();
  EXPECT_FALSE(body["result"].value("isError", true)) << res.body;
  return body["result"]["structuredContent"];
}

auto two_analysts(const std::string& policy_path) {
  return [policy_path](config::Config& c) {
    c.auth_tokens = {{"tester", kToken}, {"ana", kAna}, {"ben", kBen}};
    c.readable_schemas = {"reporting"};
    c.policy_file = policy_path;
  };
}

TEST(Policy, EachAnalystSeesWhatTheirPolicyAndRoleAllow) {
  grant_mapped_roles();
  PolicyFile policy(R"(
[analysts.ana]
role = "fleetmcp_policy_a"
max_rows = 1

[analysts.ben]
role = "fleetmcp_policy_b"
schemas = ["reporting", "tickets"]
)");
  TestServer server(two_analysts(policy.path));
  const std::string notes = "SELECT note FROM reporting.depot_notes ORDER BY note";

  // Row-level security applies per mapped role; ana's cap is one row.
  json ana = rows_of(call_as(server, kAna, notes));
  EXPECT_EQ(ana["rows"], json::parse(R"([{"note":"a1"}])")) << ana;
  EXPECT_EQ(ana["truncated"], true);
  json ben = rows_of(call_as(server, kBen, notes));
  EXPECT_EQ(ben["rows"], json::parse(R"([{"note":"b1"}])")) << ben;
  EXPECT_EQ(ben["truncated"], false);
  // Unmapped, the connection's role reads the table but owns no notes.
  EXPECT_EQ(rows_of(call_as(server, kToken, notes))["row_count"], 0);

  // Who PostgreSQL sees (application_name: MoreConnectionsBuyNoMoreCallsAtOnce).
  json who = rows_of(call_as(server, kBen, "SELECT current_user::text AS who"));
  EXPECT_EQ(who["rows"][0]["who"], "fleetmcp_policy_b") << who;

  // Schemas: ben's policy adds tickets; ana keeps the server's reporting only.
  EXPECT_EQ(rows_of(call_as(server, kBen, "SELECT count(*) AS n FROM tickets.inc"))["rows"][0]["n"], 3);
  const json refused = call_as(server, kAna, "SELECT count(*) FROM tickets.inc").json_body();
  EXPECT_TRUE(refused["result"]["isError"].get<bool>()) << refused;
  EXPECT_NE(refused.dump().find("tickets"), std::string::npos) << refused;

  // The audit names the policy that applied.
  const std::string log = server.audit_log();
  EXPECT_NE(log.find("\"caller\":\"ana\",\"policy\":\"analyst:ana\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"caller\":\"ben\",\"policy\":\"analyst:ben\""), std::string::npos) << log;
}

// The introspection tools show a mapped role only what it may read: the one
// readable-relation predicate (catalog/relations.hpp) holds for every tool.
TEST(Policy, IntrospectionShowsOnlyWhatTheAnalystsRoleMayRead) {
  grant_mapped_roles();
  PolicyFile policy("[analysts.ana]\nrole = \"fleetmcp_policy_a\"\n");
  TestServer server(two_analysts(policy.path));
  auto names = [](const json& listed) {
    std::vector<std::string> out;
    for (const auto& row : listed["result"]) out.push_back(row["name"]);
    return out;
  };
  const json hers = rows_of(call_tool_as(server, kAna, "list_tables", {{"schema", "reporting"}}));
  EXPECT_EQ(names(hers), std::vector<std::string>{"depot_notes"}) << hers;
  const json servers = rows_of(call_tool_as(server, kToken, "list_tables", {{"schema", "reporting"}}));
  EXPECT_GT(names(servers).size(), 1u) << servers;
  const json schemas = rows_of(call_tool_as(server, kAna, "list_schemas", json::object()));
  EXPECT_EQ(schemas["result"][0]["objects"], 1) << schemas;
  const json described =
      call_tool_as(server, kAna, "describe_table", {{"schema", "reporting"}, {"table", "refresh_log"}}).json_body();
  EXPECT_TRUE(described["result"]["isError"].get<bool>()) << described;
  EXPECT_NE(described.dump().find("no table or view named"), std::string::npos) << described;
  EXPECT_FALSE(rows_of(call_tool_as(server, kToken, "describe_table",
                                    {{"schema", "reporting"}, {"table", "refresh_log"}}))["result"]
                   .empty());
}

TEST(Policy, ResourceReadsAndCompletionsAreAuditedAsTheAnalyst) {
  grant_mapped_roles();
  PolicyFile policy("[analysts.ana]\nrole = \"fleetmcp_policy_a\"\n");
  TestServer server(two_analysts(policy.path));
  const auto send = [&](const json& message) {
    return http_request(server.port(), "POST", "/mcp", message.dump(),
                        {{"Authorization", std::string("Bearer ") + kAna},
                         {"Content-Type", "application/json"},
                         {"Accept", "application/json, text/event-stream"}});
  };
  EXPECT_EQ(send({{"jsonrpc", "2.0"},
                  {"id", 1},
                  {"method", "resources/read"},
                  {"params", {{"uri", "fleetmcp://table/reporting/depot_notes"}}}})
                .status,
            200);
  EXPECT_EQ(send({{"jsonrpc", "2.0"},
                  {"id", 2},
                  {"method", "completion/complete"},
                  {"params",
                   {{"ref", {{"type", "ref/resource"}, {"uri", "fleetmcp://table/{schema}/{table}"}}},
                    {"argument", {{"name", "schema"}, {"value", "rep"}}}}}})
                .status,
            200);
  const std::string log = server.audit_log();
  EXPECT_NE(log.find("\"audit\":\"resource_read\",\"caller\":\"ana\",\"policy\":\"analyst:ana\",\"method\":"
                     "\"resources/read\",\"subject\":\"fleetmcp://table/reporting/depot_notes\""),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("\"audit\":\"completion\",\"caller\":\"ana\""), std::string::npos) << log;
}

TEST(Policy, ACallerOverItsRateIsRefusedWith429WhileAnotherProceeds) {
  PolicyFile policy("[analysts.ana]\ncalls_per_minute = 2\n");
  TestServer server(two_analysts(policy.path));
  EXPECT_EQ(call_as(server, kAna, "SELECT 1").status, 200);
  EXPECT_EQ(call_as(server, kAna, "SELECT 1").status, 200);
  const HttpResponse over = call_as(server, kAna, "SELECT 1");
  EXPECT_EQ(over.status, 429) << over.body;
  ASSERT_TRUE(over.headers.count("retry-after")) << over.body;
  EXPECT_GE(std::stoi(over.headers.at("retry-after")), 1);
  EXPECT_LE(std::stoi(over.headers.at("retry-after")), 30);
  EXPECT_NE(over.body.find("2 calls per minute"), std::string::npos) << over.body;
  EXPECT_EQ(call_as(server, kBen, "SELECT 1").status, 200);  // ben has the server's limits
  EXPECT_NE(server.audit_log().find("\"outcome\":\"limited\""), std::string::npos);
}

TEST(Policy, MoreConnectionsBuyNoMoreCallsAtOnce) {
  PolicyFile policy("[analysts.ana]\nconcurrent_calls = 1\nstatement_timeout_ms = 3000\n");
  TestServer server(two_analysts(policy.path));
  auto slow = std::async(std::launch::async, [&] {
    return call_as(server, kAna, "SELECT count(*) FROM generate_series(1, 20000) a, generate_series(1, 20000) b");
  });
  // Her statement runs under her name in pg_stat_activity.
  Admin admin;
  ASSERT_TRUE(eventually([&] {
    return admin.scalar(
               "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '%:ana' "
               "AND state = 'active'") != "0";
  }));
  // http_request opens a connection of its own for every call.
  const HttpResponse second = call_as(server, kAna, "SELECT 1", 2);
  EXPECT_EQ(second.status, 429) << second.body;
  EXPECT_NE(second.body.find("calls running"), std::string::npos) << second.body;
  EXPECT_EQ(call_as(server, kBen, "SELECT 1", 3).status, 200);
  // Her own statement timeout ended it.
  const HttpResponse ended = slow.get();
  EXPECT_EQ(ended.status, 200);
  EXPECT_NE(ended.body.find("3000 ms"), std::string::npos) << ended.body;
  EXPECT_EQ(call_as(server, kAna, "SELECT 1", 4).status, 200);  // the slot is free again
}

// A pooled session keeps the last analyst's name while idle, so the same
// analyst's next call sets nothing; every call still runs under its own
// analyst's name, through PgBouncer too (which may hand each transaction
// another server connection and carries application_name over itself).
TEST(Policy, EveryCallRunsUnderItsAnalystsNameOnASharedSession) {
  const std::string tag = test_tag("fleetmcp-app-name");
  TestServer server([&](config::Config& c) {
    c.auth_tokens = {{"tester", kToken}, {"ana", kAna}, {"ben", kBen}};
    c.database_url = tagged_url(tag);
    c.pool_max = 1;
  });
  const char* order[][2] = {{kAna, "ana"}, {kAna, "ana"}, {kBen, "ben"},      {kAna, "ana"},
                            {kBen, "ben"}, {kBen, "ben"}, {kToken, "tester"}, {kAna, "ana"}};
  for (const auto& [token, who] : order) {
    const json r = rows_of(call_as(server, token, "SELECT current_setting('application_name') AS name"));
    EXPECT_EQ(r["rows"][0]["name"], tag + ":" + who) << r;
  }
  if (cluster().through_pooler) return;  // PgBouncer's idle server connections serve other clients too
  Admin admin;
  EXPECT_EQ(admin.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + tag + ":ana'"), "1");
}

// Keep-alive connections of one analyst count against their cap (the review
// filled MCP_MAX_CONNECTIONS alone with pings); another analyst is unaffected.
TEST(Policy, OneAnalystCannotHoldEveryConnection) {
  TestServer server([](config::Config& c) {
    c.auth_tokens = {{"ana", kAna}, {"ben", kBen}};
    c.connections_per_caller = 2;
  });
  namespace asio = boost::asio;
  namespace bhttp = boost::beast::http;
  asio::io_context io;
  auto ping_on = [&](boost::beast::tcp_stream& stream, const char* token) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/mcp", 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::authorization, std::string("Bearer ") + token);
    req.set(bhttp::field::content_type, "application/json");
    req.body() = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
    req.prepare_payload();
    bhttp::write(stream, req);
    boost::beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res);
    return res;
  };
  auto open = [&] {
    auto stream = std::make_unique<boost::beast::tcp_stream>(io);
    stream->connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
    return stream;
  };
  auto first = open(), second = open(), third = open();
  EXPECT_EQ(ping_on(*first, kAna).result_int(), 200);
  EXPECT_EQ(ping_on(*second, kAna).result_int(), 200);
  const auto refused = ping_on(*third, kAna);
  EXPECT_EQ(refused.result_int(), 429) << refused.body();
  EXPECT_NE(refused.body().find("MCP_CONNECTIONS_PER_CALLER = 2"), std::string::npos) << refused.body();
  EXPECT_EQ(refused[bhttp::field::retry_after], "1");
  EXPECT_EQ(ping_on(*first, kAna).result_int(), 200);  // her open ones still work
  auto other = open();
  EXPECT_EQ(ping_on(*other, kBen).result_int(), 200);
  first.reset();  // closed: her slot comes back (once the server sees the end)
  EXPECT_TRUE(eventually([&] {
    auto again = open();
    return ping_on(*again, kAna).result_int() == 200;
  }));
}

TEST(Policy, TheInstructionsShowTheCallersSchemasAndCapsOnly) {
  PolicyFile policy("[analysts.ana]\nschemas = [\"reporting\"]\nmax_rows = 42\n");
  TestServer server(two_analysts(policy.path));
  const auto initialize = [&](const char* token) {
    return http_request(server.port(), "POST", "/mcp", initialize_request().dump(),
                        {{"Authorization", std::string("Bearer ") + token},
                         {"Content-Type", "application/json"},
                         {"Accept", "application/json, text/event-stream"}})
        .json_body()["result"]["instructions"]
        .get<std::string>();
  };
  const std::string ana = initialize(kAna);
  EXPECT_NE(ana.find("Readable schemas: reporting."), std::string::npos) << ana;
  EXPECT_NE(ana.find("at most 42"), std::string::npos) << ana;
  EXPECT_EQ(ana.find("tracksolid:"), std::string::npos) << ana;  // no coverage of what she cannot read
  const std::string ben = initialize(kBen);                      // the server's defaults: reporting only here, too
  EXPECT_NE(ben.find("at most 10000"), std::string::npos) << ben;
}

TEST(Policy, TheSelfAuditChecksEveryMappedRole) {
  grant_mapped_roles();
  PolicyFile policy(R"(
[analysts.ana]
role = "fleetmcp_policy_a"
[analysts.ben]
role = "fleetmcp_policy_nonexistent"
[groups.owners]
role = "tracksolid_owner"
)");
  TestServer server(two_analysts(policy.path));
  auto report = server.app().self_audit();
  ASSERT_TRUE(report) << report.error().message;
  std::string found;
  for (const auto& f : report->findings) found += f.kind + " | " + f.what + "\n";
  // Not a member of tracksolid_owner, and no such role: both unsafe.
  EXPECT_NE(found.find("mapped_role_unusable | role \"fleetmcp_policy_nonexistent\""), std::string::npos) << found;
  EXPECT_NE(found.find("mapped_role_unusable | role \"tracksolid_owner\""), std::string::npos) << found;
  EXPECT_TRUE(report->unsafe());
  // The usable role is audited as itself: its own findings carry its name.
  EXPECT_EQ(found.find("role \"fleetmcp_policy_a\" (MCP_POLICY_FILE): mapped_role_unusable"), std::string::npos);
}

TEST(Policy, AMappedRoleThatCanWriteIsUnsafe) {
  // A role of this test's own (other tests run beside it and map the fixture's
  // roles), with a write grant the audit must find; gone at the end.
  const std::string role = "fleetmcp_audit_writer_" + std::to_string(getpid());
  Admin admin;
  admin.exec("CREATE ROLE " + role + " NOLOGIN");
  // (No schema grant: the audit finds a table's write grant without one, and
  // the schema's ACL row is one other tests' roles change at the same time.)
  admin.exec("GRANT INSERT ON reporting.depot_notes TO " + role + "; GRANT " + role + " TO analytics_ro");
  std::optional<core::Result<doctor::Report>> report;
  {
    PolicyFile policy("[analysts.ben]\nrole = \"" + role + "\"\n");
    TestServer server(two_analysts(policy.path));
    report.emplace(server.app().self_audit());
  }
  admin.exec("DROP OWNED BY " + role + "; DROP ROLE " + role);
  ASSERT_TRUE(*report) << report->error().message;
  std::string found;
  for (const auto& f : (*report)->findings) found += f.kind + " | " + f.what + "\n";
  EXPECT_NE(found.find("table_write | role \"" + role + "\" (MCP_POLICY_FILE): "), std::string::npos) << found;
  EXPECT_NE(found.find("reporting.depot_notes (INSERT)"), std::string::npos) << found;
  EXPECT_TRUE((*report)->unsafe());
}

}  // namespace
}  // namespace fleetmcp::testing
