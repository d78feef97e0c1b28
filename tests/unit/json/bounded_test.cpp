// The one entry point for untrusted JSON refuses what could exhaust the
// parser's stack or heap, before building anything.
#include "json/bounded.hpp"

#include <gtest/gtest.h>

namespace fleetmcp::json {
namespace {

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(BoundedJson, NestingUpToTheLimitParsesAndOneMoreIsRefused) {
  EXPECT_TRUE(parse_bounded(nested(64)).ok);
  const auto deeper = parse_bounded(nested(65));
  EXPECT_FALSE(deeper.ok);
  EXPECT_TRUE(deeper.too_large);
  EXPECT_NE(deeper.error.find("deeper than 64 levels"), std::string::npos) << deeper.error;
}

TEST(BoundedJson, HundredThousandLevelsAreRefusedWithoutParsing) {
  // The message that crashed the server: 100,000 levels, about 200 KB.
  const std::string body = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":)" + nested(100000) + "}}";
  const auto parsed = parse_bounded(body);
  EXPECT_TRUE(parsed.too_large);
  EXPECT_TRUE(parsed.value.is_null());  // nothing was built
}

TEST(BoundedJson, BracketsAndEscapedQuotesInsideStringsDoNotCount) {
  const std::string body = "{\"sql\":\"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"}";
  const auto parsed = parse_bounded(body);
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.value["sql"].get<std::string>().size(), 2001u);
}

TEST(BoundedJson, LongStringsAndLongContainersAreRefused) {
  Limits small{.max_depth = 8, .max_string_bytes = 16, .max_elements = 3};
  EXPECT_TRUE(parse_bounded(R"(["0123456789abcd"])", small).ok);
  EXPECT_TRUE(parse_bounded(R"(["0123456789abcdef"])", small).too_large);
  EXPECT_TRUE(parse_bounded(R"({"0123456789abcdefg":1})", small).too_large);  // keys too
  EXPECT_TRUE(parse_bounded("[1,2,3]", small).ok);
  EXPECT_TRUE(parse_bounded("[1,2,3,4]", small).too_large);
  EXPECT_TRUE(parse_bounded("[[1,2,3],[1,2,3],[1,2,3]]", small).ok);  // counted per container
}

TEST(BoundedJson, InvalidJsonIsNotMistakenForALimit) {
  using namespace std::string_literals;
  for (const std::string text :
       {"{"s, "]]]]"s, "\"unterminated"s, "nul"s, "{\"a\":}"s, "{\"jsonrpc\":\"2.0\"}\0garbage{{"s}) {
    const auto parsed = parse_bounded(text);
    EXPECT_FALSE(parsed.ok) << text;
    EXPECT_FALSE(parsed.too_large) << text;
  }
}

}  // namespace
}  // namespace fleetmcp::json

namespace fleetmcp::json {
namespace {

// One reading of a JSON number as an argument or a record-API key: whole and
// within long long, or nothing (never a conversion out of range).
TEST(WholeNumber, OnlyWholeNumbersThatFit) {
  for (const char* text : {"10", "10.0", "-7", "0", "9223372036854775807", "-9223372036854775808", "1e3"})
    EXPECT_TRUE(whole_number(nlohmann::json::parse(text))) << text;
  EXPECT_EQ(*whole_number(nlohmann::json::parse("10.0")), 10);
  EXPECT_EQ(*whole_number(nlohmann::json::parse("9223372036854775807")), 9223372036854775807LL);
  for (const char* text :
       {"1e300", "-1e300", "9223372036854775808", "18446744073709551615", "1.5", "\"10\"", "null", "true", "[1]"})
    EXPECT_FALSE(whole_number(nlohmann::json::parse(text))) << text;
}

}  // namespace
}  // namespace fleetmcp::json
