#include <gtest/gtest.h>

#include "http/request.hpp"

namespace fleetmcp::http {
namespace {

struct Front {
  config::Config config;
  auth::TokenStore tokens{{}};
  Admission admission{config, tokens};
  explicit Front(std::vector<std::string> allowed = {}) { config.allowed_hosts = std::move(allowed); }

  std::optional<int> refused(std::optional<std::string> host, std::optional<std::string> origin = std::nullopt) {
    Request req{bhttp::verb::post, "/mcp", 11};
    if (host) req.set(bhttp::field::host, *host);
    if (origin) req.set(bhttp::field::origin, *origin);
    auto res = admission.refuse_foreign(req);
    return res ? std::optional<int>(res->result_int()) : std::nullopt;
  }
};

TEST(HostChecks, LoopbackNamesAndTheAllowedHostsOnly) {
  Front front({"Fleet.Example.com"});
  for (const char* ok : {"localhost", "127.0.0.1:8892", "[::1]:8892", "fleet.example.com", "FLEET.example.com:443"})
    EXPECT_TRUE(front.admission.allowed_authority(ok)) << ok;
  for (const char* no : {"evil.test", "127.0.0.1.evil.test", "localhost.evil.test", "fleet.example.com.evil.test", ""})
    EXPECT_FALSE(front.admission.allowed_authority(no)) << no;
}

TEST(HostChecks, BoundToLoopbackAForeignHostOrOriginIs403) {
  Front front;  // MCP_HOST 127.0.0.1, MCP_DNS_REBINDING_PROTECTION auto
  EXPECT_FALSE(front.refused("127.0.0.1:8892"));
  EXPECT_FALSE(front.refused("localhost:8892", "http://localhost:6274"));  // the MCP Inspector
  EXPECT_EQ(front.refused("evil.test:8892"), 403);                         // a rebound name
  EXPECT_EQ(front.refused("127.0.0.1:8892", "https://evil.test"), 403);
  EXPECT_EQ(front.refused("127.0.0.1:8892", "null"), 403);  // a sandboxed page: nothing to trust
  EXPECT_EQ(front.refused(std::nullopt), 403);
}

TEST(HostChecks, OffChecksNeither) {
  Front front;
  front.config.host_check = config::Config::HostCheck::Off;
  EXPECT_FALSE(front.refused("evil.test", "https://evil.test"));
}

}  // namespace
}  // namespace fleetmcp::http
