#include "auth/tokens.hpp"

#include <gtest/gtest.h>

namespace fleetmcp::auth {
namespace {

TEST(Tokens, IdentifiesEachAnalystByToken) {
  TokenStore store(std::vector<config::Token>{{"alice", "alice-secret-1"}, {"bob", "bob-secret-22"}});
  EXPECT_EQ(store.identify("alice-secret-1"), "alice");
  EXPECT_EQ(store.identify("bob-secret-22"), "bob");
  EXPECT_EQ(store.identify("bob-secret-2"), std::nullopt);    // a prefix is not the token
  EXPECT_EQ(store.identify("bob-secret-222"), std::nullopt);  // nor an extension
  EXPECT_EQ(store.identify(""), std::nullopt);
  EXPECT_EQ(store.identify("alice"), std::nullopt);  // names are not tokens
}

TEST(Tokens, ParsesTheBearerHeader) {
  TokenStore store(std::vector<config::Token>{{"alice", "alice-secret-1"}});
  EXPECT_EQ(store.identify_header("Bearer alice-secret-1"), "alice");
  EXPECT_EQ(store.identify_header("bearer   alice-secret-1 "), "alice");
  EXPECT_EQ(store.identify_header("Basic alice-secret-1"), std::nullopt);
  EXPECT_EQ(store.identify_header("Bearer"), std::nullopt);
  EXPECT_EQ(store.identify_header("Bearer "), std::nullopt);
  EXPECT_EQ(store.identify_header("alice-secret-1"), std::nullopt);
  EXPECT_EQ(store.identify_header(""), std::nullopt);
}

TEST(Tokens, OperatorsMayUseBasicWithTheirNameAsUser) {
  TokenStore store(std::vector<config::Token>{{"ops", "ops-secret-1"}});
  EXPECT_EQ(store.identify_bearer_or_basic("Bearer ops-secret-1"), "ops");
  EXPECT_EQ(store.identify_bearer_or_basic("Basic b3BzOm9wcy1zZWNyZXQtMQ=="), "ops");  // ops:ops-secret-1
  EXPECT_EQ(store.identify_bearer_or_basic("basic  b3BzOm9wcy1zZWNyZXQtMQ== "), "ops");
  EXPECT_EQ(store.identify_bearer_or_basic("Basic ZXZlOm9wcy1zZWNyZXQtMQ=="), std::nullopt);  // eve:ops-secret-1
  EXPECT_EQ(store.identify_bearer_or_basic("Basic b3BzOm9wcy1zZWNyZXQtMg=="), std::nullopt);  // ops:ops-secret-2
  EXPECT_EQ(store.identify_bearer_or_basic("Basic b3Bz"), std::nullopt);                      // "ops", no colon
  EXPECT_EQ(store.identify_bearer_or_basic("Basic !!!!"), std::nullopt);
  for (const char* padding : {"====", "A===", "A=======", "========", "AA==", "AAA="})
    EXPECT_EQ(store.identify_bearer_or_basic(std::string("Basic ") + padding), std::nullopt) << padding;
  EXPECT_EQ(store.identify_bearer_or_basic("Basic " + std::string(2000, 'A')), std::nullopt);
  const auto parts = basic_credentials("Basic YTpiOmM=");  // a:b:c: the password keeps its colons
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->first, "a");
  EXPECT_EQ(parts->second, "b:c");
}

TEST(Tokens, EmptyStoreAcceptsNothing) {
  TokenStore store(std::vector<config::Token>{});
  EXPECT_TRUE(store.empty());
  EXPECT_EQ(store.identify_header("Bearer anything-at-all"), std::nullopt);
}

}  // namespace
}  // namespace fleetmcp::auth
