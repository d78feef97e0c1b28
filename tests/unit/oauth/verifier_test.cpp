// The OAuth key cache against issuers served from memory: discovery, the
// refresh on an unknown kid (rotation) at most once per interval, cached keys
// kept while the issuer is away, scopes, and no fetch a token could steer.
#include "oauth/verifier.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <ctime>
#include <map>

#include "support/jwt_signing.hpp"

namespace fleetmcp::oauth {
namespace {

using namespace fleetmcp::testing::jwt;
namespace asio = boost::asio;

const std::string kIssuer = "https://id.example.test/realms/fleet";
const std::string kJwksUrl = "https://id.example.test/realms/fleet/certs";

// Documents by URL; a missing one is an unreachable issuer. Counts fetches.
struct FakeIssuer {
  std::map<std::string, std::string> documents;
  std::vector<std::string> fetched;
  Verifier::Fetch fetch() {
    return [this](std::string url) -> asio::awaitable<core::Result<std::string>> {
      fetched.push_back(url);
      auto it = documents.find(url);
      if (it == documents.end()) co_return core::make_error(core::ErrorKind::Unavailable, "GET " + url + ": refused");
      co_return it->second;
    };
  }
  void serve(json keys) {
    if (!keys.is_array()) keys = json::array({keys});  // ({one}) braces to the element itself
    documents[kIssuer + "/.well-known/openid-configuration"] = json{{"issuer", kIssuer}, {"jwks_uri", kJwksUrl}}.dump();
    documents[kJwksUrl] = json{{"keys", keys}}.dump();
  }
};

config::Config::OAuth oauth() {
  config::Config::OAuth o;
  o.issuers = {kIssuer};
  o.audience = "https://fleet.example.test/mcp";
  return o;
}

std::string token(EVP_PKEY* key, const std::string& kid, json extra = json::object()) {
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  json claims = {{"iss", kIssuer},
                 {"aud", "https://fleet.example.test/mcp"},
                 {"sub", "ana"},
                 {"exp", now + 300},
                 {"scope", "openid fleet:read"},
                 {"groups", {"dispatch"}},
                 {"jti", "t-1"}};
  claims.update(extra);
  return compact(header("RS256", kid), claims, key);
}

Verdict verify(Verifier& v, std::string t) {
  asio::io_context io;
  auto done = asio::co_spawn(io, v.verify(std::move(t)), asio::use_future);
  io.run();
  return done.get();
}

std::string refusal(const Verdict& v) {
  if (const auto* r = std::get_if<Refusal>(&v))
    return std::to_string(r->status) + " " + r->error + ": " + r->description;
  return "accepted";
}

class OAuthVerifier : public ::testing::Test {
 protected:
  Pkey first = rsa_key(2048), second = rsa_key(2048);
  FakeIssuer issuer;
  std::vector<std::string> log;
  config::Config::OAuth settings = oauth();
  Verifier make() {
    return Verifier(
        settings, [this](const std::string& line) { log.push_back(line); }, issuer.fetch());
  }
};

TEST_F(OAuthVerifier, AcceptsATokenOfTheIssuerAndNamesTheCaller) {
  issuer.serve({rsa_jwk(first.get(), "k1")});
  Verifier v = make();
  const Verdict verdict = verify(v, token(first.get(), "k1"));
  ASSERT_TRUE(std::holds_alternative<auth::Caller>(verdict)) << refusal(verdict);
  const auto& caller = std::get<auth::Caller>(verdict);
  EXPECT_EQ(caller.name, "ana");
  EXPECT_EQ(caller.groups, std::vector<std::string>{"dispatch"});
  EXPECT_EQ(caller.token_id, "t-1");
  EXPECT_EQ(caller.issuer, kIssuer);
  EXPECT_TRUE(v.has_keys());
}

TEST_F(OAuthVerifier, RotationIsPickedUpOnTheUnknownKidAtMostOncePerInterval) {
  issuer.serve({rsa_jwk(first.get(), "k1")});
  Verifier v = make();
  ASSERT_EQ(refusal(verify(v, token(first.get(), "k1"))), "accepted");
  const auto fetches = issuer.fetched.size();
  // The issuer rotates to k2 without our knowing: the first k2 token refetches.
  issuer.serve({rsa_jwk(first.get(), "k1"), rsa_jwk(second.get(), "k2")});
  EXPECT_EQ(refusal(verify(v, token(second.get(), "k2"))), "accepted");
  EXPECT_EQ(issuer.fetched.size(), fetches + 2);  // metadata and JWKS, once
  // Kids nobody publishes: refused, and no fetch: the rotation's refresh was
  // under kRefreshInterval ago.
  const Pkey stranger = rsa_key(2048);
  const auto before = issuer.fetched.size();
  for (int i = 0; i < 5; ++i) EXPECT_NE(refusal(verify(v, token(stranger.get(), "k" + std::to_string(i)))), "accepted");
  EXPECT_EQ(issuer.fetched.size(), before);
}

TEST_F(OAuthVerifier, AnUnreachableIssuerLeavesTheCachedKeysInUse) {
  issuer.serve({rsa_jwk(first.get(), "k1")});
  Verifier v = make();
  ASSERT_EQ(refusal(verify(v, token(first.get(), "k1"))), "accepted");
  issuer.documents.clear();  // the issuer goes away
  const Pkey stranger = rsa_key(2048);
  EXPECT_NE(refusal(verify(v, token(stranger.get(), "k9"))), "accepted");  // tries, fails, logs
  EXPECT_EQ(refusal(verify(v, token(first.get(), "k1"))), "accepted");
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log.back().find("cannot fetch the keys of " + kIssuer), std::string::npos) << log.back();
}

TEST_F(OAuthVerifier, KeysComeOnlyFromTheConfiguredIssuers) {
  issuer.serve({rsa_jwk(first.get(), "k1")});
  Verifier v = make();
  // Another issuer, a jku header: refused without a single fetch.
  const std::string foreign = compact(json{{"alg", "RS256"}, {"kid", "k1"}, {"jku", "https://evil.test/jwks"}},
                                      json{{"iss", "https://evil.test"},
                                           {"aud", "https://fleet.example.test/mcp"},
                                           {"sub", "mallory"},
                                           {"exp", std::time(nullptr) + 300}},
                                      first.get());
  EXPECT_EQ(refusal(verify(v, foreign)).rfind("401 invalid_token", 0), 0u);
  EXPECT_TRUE(issuer.fetched.empty());
}

TEST_F(OAuthVerifier, MetadataOfAnotherIssuerIsNotBelieved) {
  issuer.documents[kIssuer + "/.well-known/openid-configuration"] =
      json{{"issuer", "https://other.test"}, {"jwks_uri", kJwksUrl}}.dump();
  issuer.documents[kJwksUrl] = json{{"keys", json::array({rsa_jwk(first.get(), "k1")})}}.dump();
  Verifier v = make();
  EXPECT_NE(refusal(verify(v, token(first.get(), "k1"))), "accepted");
  EXPECT_NE(log.back().find("its \"issuer\" is not"), std::string::npos) << log.back();
}

TEST_F(OAuthVerifier, AMissingScopeIs403AndOtherFailures401) {
  issuer.serve({rsa_jwk(first.get(), "k1")});
  Verifier v = make();
  EXPECT_EQ(refusal(verify(v, token(first.get(), "k1", {{"scope", "openid"}}))),
            "403 insufficient_scope: the token lacks the scope fleet:read");
  EXPECT_EQ(
      refusal(verify(v, token(first.get(), "k1", {{"aud", "https://other.test/mcp"}}))).rfind("401 invalid_token", 0),
      0u);
  EXPECT_EQ(refusal(verify(v, token(first.get(), "k1", {{"exp", 1000}}))).rfind("401 invalid_token", 0), 0u);
  EXPECT_EQ(refusal(verify(v, "not.a.token")).rfind("401 invalid_token", 0), 0u);
}

TEST_F(OAuthVerifier, TheUserClaimIsConfigurable) {
  settings.user_claim = "preferred_username";
  issuer.serve({rsa_jwk(first.get(), "k1")});
  Verifier v = make();
  const Verdict verdict = verify(v, token(first.get(), "k1", {{"preferred_username", "ana.k"}}));
  ASSERT_TRUE(std::holds_alternative<auth::Caller>(verdict)) << refusal(verdict);
  EXPECT_EQ(std::get<auth::Caller>(verdict).name, "ana.k");
}

}  // namespace
}  // namespace fleetmcp::oauth
