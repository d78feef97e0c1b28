#include "config/config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace fleetmcp::config {
namespace {

Lookup env(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Config, DefaultsMatchTheSeed) {
  auto c = load({}, env({}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 8892);
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->max_rows, 10000);
  EXPECT_EQ(c->pool_max, 8);
  EXPECT_EQ(c->readable_schemas, (std::vector<std::string>{"reporting", "tracksolid", "tickets", "fuel"}));
  EXPECT_GE(c->threads, 1);
}

TEST(Config, OAuthNeedsAnAudienceAndTakesLoopbackHttpIssuers) {
  auto c = load({}, env({{"MCP_OAUTH_ISSUERS", "https://id.example.com/realms/fleet, http://127.0.0.1:9000"},
                         {"MCP_OAUTH_AUDIENCE", "https://fleet.example.com/mcp"}}));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->oauth.enabled());
  EXPECT_EQ(c->oauth.issuers,
            (std::vector<std::string>{"https://id.example.com/realms/fleet", "http://127.0.0.1:9000"}));
  EXPECT_EQ(c->oauth.scopes, std::vector<std::string>{"fleet:read"});
  EXPECT_EQ(c->oauth.user_claim, "sub");
  EXPECT_EQ(c->concurrent_limit(), c->pool_max);
  auto alone = load({}, env({{"MCP_OAUTH_ISSUERS", "https://id.example.com"}}));
  ASSERT_FALSE(alone.ok());
  EXPECT_NE(alone.error().message.find("MCP_OAUTH_AUDIENCE: must be set"), std::string::npos);
  auto audience_alone = load({}, env({{"MCP_OAUTH_AUDIENCE", "https://fleet.example.com/mcp"}}));
  ASSERT_FALSE(audience_alone.ok());
}

TEST(Config, EnvironmentWinsOverFile) {
  auto c = load({{"MCP_PORT", "9000"}, {"MCP_MAX_ROWS", "50"}}, env({{"MCP_PORT", "9100"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 9100);
  EXPECT_EQ(c->max_rows, 50);
}

struct BadValue {
  const char* name;
  const char* value;
  const char* reason;  // a piece of the one-line message
};

TEST(Config, BadValuesStopWithOneLineNamingTheVariable) {
  const BadValue cases[] = {
      {"MCP_PORT", "eighty", "expected a whole number"},
      {"MCP_PORT", "70000", "out of range"},
      {"MCP_POOL_MAX", "0", "out of range"},
      {"MCP_MAX_ROWS", "-5", "out of range"},
      {"MCP_READABLE_SCHEMAS", "reporting,bad name", "not a plain schema name"},
      {"MCP_READABLE_SCHEMAS", " , ", "at least one schema"},
      {"MCP_AUTH_TOKENS", "alice", "name:token"},
      {"MCP_AUTH_TOKENS", "alice:short", "shorter than 8"},
      {"MCP_AUTH_TOKENS", "a:tok12345678,a:tok87654321", "appears twice"},
      {"MCP_AUTH_TOKENS", "a:tok12345678,b:tok12345678", "share one token"},
      {"MCP_READONLY", "false", "read-only by design"},
      {"MCP_READONLY", "maybe", "true or false"},
      {"MCP_ENABLED", "sometimes", "true or false"},
      {"MCP_TOKEN", "short", "shorter than 8"},
      {"MCP_RATE_LIMIT", "0", "out of range"},
      {"MCP_OAUTH_ISSUERS", "http://id.example.com", "http:// on a host other than loopback"},
      {"MCP_OAUTH_ISSUERS", "id.example.com", "not an https:// URL"},
      {"MCP_OAUTH_AUDIENCE", "https://fleet.example.com/mcp?x=1", "not a plain URL"},
      {"MCP_OAUTH_SCOPES", "fleet read,\"x\"", "is not a scope"},
      {"MCP_OAUTH_USER_CLAIM", "", "must name a claim"},
      {"MCP_CALLS_PER_MINUTE", "0", "out of range"},
      {"MCP_CONCURRENT_CALLS", "-1", "out of range"},
      {"MCP_ALLOWED_MODELS", " , ", "at least one model"},
      {"MCP_ALLOWED_MODELS", "users,users", "appears twice"},
      {"MCP_ALLOWED_MODELS", "users;drop", "not a model name"},
      {"MCP_ALLOWED_MODELS", "t=tickets.inc.x", "not a plain table"},
      {"MCP_ALLOWED_MODELS", "keys=secret_stuff.keys", "outside MCP_READABLE_SCHEMAS"},
      {"MCP_WS_MAX_MESSAGE_BYTES", "10", "out of range"},
      {"MCP_WS_IDLE_TIMEOUT", "0", "out of range"},
      {"MCP_TIMEZONE", "Africa/Nairobi' -c work_mem=1GB", "not a time zone name"},
      {"MCP_TIMEZONE", "Europe\\Paris", "not a time zone name"},
  };
  for (const auto& bad : cases) {
    auto c = load({}, env({{bad.name, bad.value}}));
    ASSERT_FALSE(c.ok()) << bad.name << "=" << bad.value;
    const std::string& msg = c.error().message;
    EXPECT_EQ(msg.rfind(std::string(bad.name) + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(bad.reason), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

// libpq's parser judges DATABASE_URL at start; what it refused only at the
// first connection (a '/' in a URL's password) stops the start too, without
// echoing the password.
TEST(Config, DatabaseUrlIsParsedAtStartWithoutEchoingThePassword) {
  for (const std::string url :
       {"postgresql://analytics_ro:ab/cd@db.internal:5432/fleet", "postgresql://analytics_ro:ab@cd@db.internal/fleet",
        "host=db.internal password=ab/cd port=54x32", "host=db.internal secretword dbname=fleet",
        "postgresql://db.internal/fleet?nosuchoption=1"}) {
    auto c = load({}, env({{"DATABASE_URL", url}}));
    ASSERT_FALSE(c) << url;
    const std::string message = c.error().message;
    EXPECT_EQ(message.rfind("DATABASE_URL: ", 0), 0u) << message;
    EXPECT_NE(message.find("percent-encoded"), std::string::npos) << message;
    EXPECT_EQ(message.find("cd"), std::string::npos) << message;
    EXPECT_EQ(message.find("secretword"), std::string::npos) << message;
  }
  for (const std::string url : {"postgresql://analytics_ro:ab%2Fcd@db.internal:5432/fleet",
                                "postgresql://u@h1:5432,h2:5433/fleet?sslmode=verify-full",
                                "host=db.internal password='ab/cd' dbname=fleet", ""})
    EXPECT_TRUE(load({}, env({{"DATABASE_URL", url}}))) << url;
}

TEST(Config, TimeZoneIsUnsetUnlessGiven) {
  auto c = load({}, env({}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->timezone, "");  // the server's own
  for (const char* zone : {"Africa/Nairobi", "UTC", "America/Argentina/Buenos_Aires", "Etc/GMT+3", "+03:00"}) {
    c = load({}, env({{"MCP_TIMEZONE", zone}}));
    ASSERT_TRUE(c.ok()) << zone << ": " << c.error().message;
    EXPECT_EQ(c->timezone, zone);
  }
}

TEST(Config, RecordApiDefaultsMatchTheSeed) {
  auto c = load({}, env({}));
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->ws_enabled);
  EXPECT_EQ(c->ws_rate_limit, 60);
  ASSERT_EQ(c->ws_models.size(), 3u);
  EXPECT_EQ(c->ws_models[0].name, "users");
  EXPECT_EQ(c->ws_models[1].name, "tickets");
  EXPECT_EQ(c->ws_models[2].name, "change_log");
  EXPECT_TRUE(c->ws_models[0].schema.empty());  // found through MCP_READABLE_SCHEMAS
}

TEST(Config, ModelsAreNamesTablesOrMappings) {
  auto m = parse_models("users, tickets=tickets.inc ,tickets.change_log,log=change_log");
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 4u);
  auto is = [](const RecordModel& r, const char* name, const char* schema, const char* relation) {
    return r.name == name && r.schema == schema && r.relation == relation;
  };
  EXPECT_TRUE(is((*m)[0], "users", "", "users"));
  EXPECT_TRUE(is((*m)[1], "tickets", "tickets", "inc"));
  EXPECT_TRUE(is((*m)[2], "tickets.change_log", "tickets", "change_log"));
  EXPECT_TRUE(is((*m)[3], "log", "", "change_log"));
}

TEST(Config, SharedTokenNeitherNamesNorCopiesAnAnalyst) {
  auto named = load({}, env({{"MCP_TOKEN", "shared-1234567"}, {"MCP_AUTH_TOKENS", "shared:tok12345678"}}));
  ASSERT_FALSE(named.ok());
  EXPECT_NE(named.error().message.find("MCP_AUTH_TOKENS: the name 'shared'"), std::string::npos);
  auto copied = load({}, env({{"MCP_TOKEN", "tok12345678"}, {"MCP_AUTH_TOKENS", "alice:tok12345678"}}));
  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.error().message, "MCP_TOKEN: equals the token of 'alice' in MCP_AUTH_TOKENS; give it its own value");
  // The secret itself never appears in a message.
  auto short_token = load({}, env({{"MCP_TOKEN", "abc"}}));
  EXPECT_EQ(short_token.error().message.find("abc"), std::string::npos);
}

TEST(Config, OperatorTokensAreNeverAnAnalystsOrTheSharedOne) {
  auto ok = load({}, env({{"MCP_OPERATOR_TOKENS", "ops:ops-token-1"}, {"MCP_AUTH_TOKENS", "alice:alice-token-1"}}));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_EQ(ok->operator_tokens.size(), 1u);
  EXPECT_EQ(ok->operator_tokens[0].name, "ops");
  auto analysts =
      load({}, env({{"MCP_OPERATOR_TOKENS", "ops:same-token-1"}, {"MCP_AUTH_TOKENS", "alice:same-token-1"}}));
  ASSERT_FALSE(analysts.ok());
  EXPECT_NE(analysts.error().message.find("MCP_OPERATOR_TOKENS: the token of 'ops' is also the analyst 'alice'"),
            std::string::npos);
  auto shared = load({}, env({{"MCP_OPERATOR_TOKENS", "ops:same-token-1"}, {"MCP_TOKEN", "same-token-1"}}));
  ASSERT_FALSE(shared.ok());
  EXPECT_NE(shared.error().message.find("equals MCP_TOKEN"), std::string::npos);
  auto malformed = load({}, env({{"MCP_OPERATOR_TOKENS", "ops"}}));
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().message.rfind("MCP_OPERATOR_TOKENS: each entry must be name:token", 0), 0u);
}

TEST(Config, UnknownKeyInFileIsRefused) {
  auto c = load({{"MCP_PROT", "1"}}, env({}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("MCP_PROT: unknown setting"), std::string::npos);
}

TEST(Config, TokensParseIntoNamesAndSecrets) {
  auto t = parse_tokens(" alice:tok-aaaa-1111 , bob:tok:with:colons ");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0].name, "alice");
  EXPECT_EQ((*t)[0].token, "tok-aaaa-1111");
  EXPECT_EQ((*t)[1].token, "tok:with:colons");
}

TEST(Config, FileReaderHandlesCommentsAndQuotes) {
  char path[] = "/tmp/fleetmcp-config-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "# comment\n\nMCP_PORT = 9001\nDATABASE_URL=\"host=x dbname=y\"\n";
  auto values = read_config_file(path);
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(values->at("MCP_PORT"), "9001");
  EXPECT_EQ(values->at("DATABASE_URL"), "host=x dbname=y");
  std::ofstream(path) << "not a pair\n";
  auto broken = read_config_file(path);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find(":1: expected KEY=VALUE"), std::string::npos);
  std::remove(path);
  EXPECT_FALSE(read_config_file(path).ok());
}

}  // namespace
}  // namespace fleetmcp::config

namespace fleetmcp::config {
namespace {

TEST(LoopbackHost, OnlyLocalhostAndLiteralLoopbackAddresses) {
  for (const char* host : {"localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"})
    EXPECT_TRUE(is_loopback_host(host)) << host;
  for (const char* host : {"127.evil.example", "127.0.0.1.evil.example", "localhost.evil.example", "127.1", "0.0.0.0",
                           "10.0.0.1", "[::2]", "", "[", "evil-127.0.0.1"})
    EXPECT_FALSE(is_loopback_host(host)) << host;
}

TEST(ServeFlags, WhoMayCallIsDecidedBeforeServing) {
  Config tokens;
  tokens.auth_tokens = {{"ana", "secret-token-of-ana"}};
  EXPECT_TRUE(with_serve_flags(tokens, {}, true));
  // No tokens: refused over HTTP, unless --insecure-no-auth on loopback; stdio needs none.
  Config none;
  EXPECT_FALSE(with_serve_flags(none, {}, true));
  EXPECT_TRUE(with_serve_flags(none, {}, false));
  auto insecure = with_serve_flags(none, {.insecure_no_auth = true}, true);
  ASSERT_TRUE(insecure);
  EXPECT_TRUE(insecure->insecure_no_auth);
  Config exposed;
  exposed.host = "0.0.0.0";
  const auto refused = with_serve_flags(exposed, {.insecure_no_auth = true}, true);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("loopback only"), std::string::npos) << refused.error().message;
  // The record API alone may serve with its own token; without one it may not.
  Config records;
  records.ws_enabled = true;
  EXPECT_FALSE(with_serve_flags(records, {}, true));
  records.ws_token = "shared-token-for-the-record-api";
  EXPECT_TRUE(with_serve_flags(records, {}, true));
  // The fixtures are for loopback test servers.
  auto fixtures = with_serve_flags(tokens, {.conformance_fixtures = true}, true);
  ASSERT_TRUE(fixtures);
  EXPECT_TRUE(fixtures->conformance_fixtures);
  exposed.auth_tokens = tokens.auth_tokens;
  EXPECT_FALSE(with_serve_flags(exposed, {.conformance_fixtures = true}, true));
}

}  // namespace
}  // namespace fleetmcp::config
