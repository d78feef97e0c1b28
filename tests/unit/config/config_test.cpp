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
