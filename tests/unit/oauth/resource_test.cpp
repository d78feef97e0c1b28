#include "oauth/resource.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oauth/fetch.hpp"

namespace fleetmcp::oauth {
namespace {

config::Config::OAuth oauth() {
  config::Config::OAuth o;
  o.issuers = {"https://id.example.com/realms/fleet", "http://127.0.0.1:9000"};
  o.audience = "https://fleet.example.com/mcp";
  o.scopes = {"fleet:read", "openid"};
  return o;
}

TEST(OAuthResource, MetadataNamesTheResourceItsIssuersAndScopes) {
  const auto doc = nlohmann::json::parse(metadata_json(oauth()));
  EXPECT_EQ(doc["resource"], "https://fleet.example.com/mcp");
  EXPECT_EQ(doc["authorization_servers"],
            nlohmann::json({"https://id.example.com/realms/fleet", "http://127.0.0.1:9000"}));
  EXPECT_EQ(doc["scopes_supported"], nlohmann::json({"fleet:read", "openid"}));
  EXPECT_EQ(doc["bearer_methods_supported"], nlohmann::json({"header"}));
}

TEST(OAuthResource, TheWellKnownPathTakesTheResourcesPathAfterIt) {
  EXPECT_EQ(metadata_url(oauth()), "https://fleet.example.com/.well-known/oauth-protected-resource/mcp");
  EXPECT_EQ(metadata_paths(oauth()), (std::vector<std::string>{"/.well-known/oauth-protected-resource",
                                                               "/.well-known/oauth-protected-resource/mcp"}));
  auto root = oauth();
  root.audience = "https://fleet.example.com:8443/";
  EXPECT_EQ(metadata_url(root), "https://fleet.example.com:8443/.well-known/oauth-protected-resource");
  EXPECT_EQ(metadata_paths(root), std::vector<std::string>{"/.well-known/oauth-protected-resource"});
}

TEST(OAuthResource, TheChallengePointsAtTheMetadataAndQuotesSafely) {
  EXPECT_EQ(challenge(oauth()),
            "Bearer resource_metadata=\"https://fleet.example.com/.well-known/oauth-protected-resource/mcp\", "
            "scope=\"fleet:read openid\"");
  EXPECT_EQ(
      challenge(oauth(), "insufficient_scope", "lacks \"fleet:read\"\n"),
      "Bearer resource_metadata=\"https://fleet.example.com/.well-known/oauth-protected-resource/mcp\", "
      "scope=\"fleet:read openid\", error=\"insufficient_scope\", error_description=\"lacks \\\"fleet:read\\\"\"");
}

TEST(OAuthFetch, UrlsAreSplitAndCredentialsRefused) {
  auto u = parse_url("https://id.example.com/realms/x");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "id.example.com");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target, "/realms/x");
  u = parse_url("http://[::1]:9000");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "9000");
  EXPECT_EQ(u->target, "/");
  EXPECT_FALSE(parse_url("https://user:pw@id.example.com/"));
  EXPECT_FALSE(parse_url("ftp://id.example.com/"));
  EXPECT_FALSE(parse_url("https://id.example.com:99999999/"));
}

}  // namespace
}  // namespace fleetmcp::oauth
