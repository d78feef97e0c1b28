#include "policy/policy.hpp"

#include <gtest/gtest.h>

namespace fleetmcp::policy {
namespace {

config::Config server() {
  config::Config c;
  c.readable_schemas = {"reporting", "fuel"};
  c.redact_columns = {"password"};
  c.max_rows = 10000;
  c.statement_timeout_ms = 30000;
  c.calls_per_minute = 600;
  c.pool_max = 8;
  return c;
}

constexpr const char* kFile = R"(
[defaults]
max_rows = 1000
calls_per_minute = 60

[groups.dispatch]
schemas = ["reporting", "tickets"]
sensitive_columns = ["Phone"]
role = "fleet_dispatch"

[groups.auditors]
schemas = ["reporting"]
statement_timeout_ms = 120000

[analysts.alice]
max_rows = 50000
role = "fleet_alice"
concurrent_calls = 2
)";

Book parsed(const char* text) {
  auto book = Book::parse(text, "policy.toml", server());
  EXPECT_TRUE(book) << book.error().message;
  return std::move(*book);
}

TEST(Policy, WithoutAFileEveryoneGetsTheServersSettings) {
  Book book(server());
  const auto g = book.grant("bob", {"dispatch"});
  EXPECT_EQ(g->source, "server");
  EXPECT_EQ(g->config.readable_schemas, server().readable_schemas);
  EXPECT_EQ(g->config.max_rows, 10000);
  EXPECT_EQ(g->calls_per_minute, 600);
  EXPECT_EQ(g->concurrent_calls, 8);  // MCP_CONCURRENT_CALLS 0: the pool's size
  EXPECT_TRUE(g->role.empty());
  EXPECT_TRUE(book.uniform());
  EXPECT_TRUE(book.role_grants().empty());
}

TEST(Policy, AnalystThenGroupsInNameOrderThenDefaultsThenServer) {
  Book book = parsed(kFile);
  EXPECT_FALSE(book.uniform());
  const auto alice = book.grant("alice", {"dispatch"});
  EXPECT_EQ(alice->config.max_rows, 50000);  // her own
  EXPECT_EQ(alice->role, "fleet_alice");     // her own, over the group's
  EXPECT_EQ(alice->config.readable_schemas, (std::vector<std::string>{"reporting", "tickets"}));  // the group's
  EXPECT_EQ(alice->calls_per_minute, 60);                                                         // defaults
  EXPECT_EQ(alice->concurrent_calls, 2);
  EXPECT_EQ(alice->config.statement_timeout_ms, 30000);  // the server's
  EXPECT_EQ(alice->source, "analyst:alice+group:dispatch+defaults");

  // Two groups: "auditors" sorts before "dispatch", so its schemas win.
  const auto both = book.grant("carol", {"dispatch", "auditors"});
  EXPECT_EQ(both->config.readable_schemas, std::vector<std::string>{"reporting"});
  EXPECT_EQ(both->config.statement_timeout_ms, 120000);
  EXPECT_EQ(both->role, "fleet_dispatch");

  const auto nobody = book.grant("dave", {"unknown-group"});
  EXPECT_EQ(nobody->source, "defaults");
  EXPECT_EQ(nobody->config.max_rows, 1000);
  EXPECT_EQ(nobody->config.readable_schemas, server().readable_schemas);
}

TEST(Policy, SensitiveColumnsAddUpAndNeverShrink) {
  Book book = parsed(kFile);
  const auto g = book.grant("erin", {"dispatch"});
  EXPECT_EQ(g->config.redact_columns, (std::vector<std::string>{"password", "phone"}));  // lower-cased
  EXPECT_EQ(book.grant("erin", {})->config.redact_columns, std::vector<std::string>{"password"});
}

TEST(Policy, EveryMappedRoleIsListedOnceForTheSelfAudit) {
  Book book = parsed(kFile);
  std::vector<std::string> roles;
  for (const auto& g : book.role_grants()) roles.push_back(g->role);
  EXPECT_EQ(roles, (std::vector<std::string>{"fleet_dispatch", "fleet_alice"}));
  // The dispatch role is audited with the dispatch group's schemas.
  EXPECT_EQ(book.role_grants()[0]->config.readable_schemas, (std::vector<std::string>{"reporting", "tickets"}));
}

TEST(Policy, MistakesStopTheStartNamingTheLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"[defaults]\nmax_row = 5\n", "policy.toml:2: unknown key 'max_row'"},
      {"[analysts.bob]\nmax_rows = 0\n", "policy.toml:2: max_rows = 0 is out of range"},
      {"[analysts.bob]\nmax_rows = \"5\"\n", "max_rows must be a whole number"},
      {"[groups.x]\nschemas = [\"bad-name\"]\n", "'bad-name' is not a plain schema name"},
      {"[groups.x]\nschemas = []\n", "schemas must name at least one schema"},
      {"[analyst.bob]\nrole = \"r\"\n", "unknown section [analyst]"},
      {"[analysts]\nbob = 3\n", "analysts.bob must be a table of keys"},
      {"[analysts.bob]\nrole = \"\"\n", "role must be a PostgreSQL role name"},
      {"[defaults\n", "policy.toml:1:"},
  };
  for (const auto& [text, expected] : cases) {
    auto book = Book::parse(text, "policy.toml", server());
    ASSERT_FALSE(book) << text;
    EXPECT_NE(book.error().message.find("MCP_POLICY_FILE"), std::string::npos) << book.error().message;
    EXPECT_NE(book.error().message.find(expected), std::string::npos) << text << " -> " << book.error().message;
  }
}

TEST(Policy, AMissingFileIsAnError) {
  auto book = Book::load("/nonexistent/policy.toml", server());
  ASSERT_FALSE(book);
  EXPECT_NE(book.error().message.find("cannot be read"), std::string::npos);
}

}  // namespace
}  // namespace fleetmcp::policy
