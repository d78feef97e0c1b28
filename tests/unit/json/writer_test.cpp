#include "json/writer.hpp"

#include <gtest/gtest.h>

namespace fleetmcp::json {
namespace {

TEST(JsonString, EscapesWhatJsonRequires) {
  const std::pair<std::string, std::string> cases[] = {
      {"plain", "\"plain\""},
      {"a\"b\\c", "\"a\\\"b\\\\c\""},
      {"line\nfeed\ttab\r", "\"line\\nfeed\\ttab\\r\""},
      {std::string("nul\0x", 5), "\"nul\\u0000x\""},
      {"\x01\x1f", "\"\\u0001\\u001f\""},
      {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x9A\x9A", "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x9A\x9A\""},
      // Invalid UTF-8 (a lone continuation byte, a truncated sequence, an
      // overlong '/', a surrogate) becomes U+FFFD, so the reply always parses.
      {"a\x80z", "\"a\xEF\xBF\xBDz\""},
      {"a\xE2\x82", "\"a\xEF\xBF\xBD\xEF\xBF\xBD\""},
      {"\xC0\xAF", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},
      {"\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
  };
  for (const auto& [input, expected] : cases) EXPECT_EQ(fleetmcp::json::quoted(input), expected);
}

TEST(JsonValue, TypedByColumnOid) {
  struct Case {
    unsigned oid;
    const char* text;  // nullptr: SQL NULL
    const char* expected;
  };
  const Case cases[] = {
      {23, "42", "42"},
      {20, "-9007199254740993", "-9007199254740993"},
      {21, "7", "7"},
      {1700, "12075.00", "12075.00"},
      {1700, "NaN", "\"NaN\""},
      {701, "Infinity", "\"Infinity\""},
      {701, "-Infinity", "\"-Infinity\""},
      {701, "1.5e+300", "1.5e+300"},
      {16, "t", "true"},
      {16, "f", "false"},
      {3802, "{\"a\": [1, null]}", "{\"a\": [1, null]}"},
      {114, "[1,2]", "[1,2]"},
      {1184, "2026-01-01 00:00:00+00", "\"2026-01-01 00:00:00+00\""},
      {25, "say \"hi\"", "\"say \\\"hi\\\"\""},
      {1007, "{1,2}", "\"{1,2}\""},
      {23, nullptr, "null"},
      {25, nullptr, "null"},
  };
  for (const auto& c : cases) {
    std::string out;
    append_value(out, kind_for_oid(c.oid), c.text, c.text ? static_cast<int>(strlen(c.text)) : 0);
    EXPECT_EQ(out, c.expected) << "oid " << c.oid;
  }
}

}  // namespace
TEST(JsonValue, JsonNestedDeeperThanOurInputLimitGoesAsText) {
  const auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  std::string within, deeper;
  const std::string ok = nested(64), deep = nested(65);
  append_value(within, kind_for_oid(3802), ok.c_str(), static_cast<int>(ok.size()));
  append_value(deeper, kind_for_oid(3802), deep.c_str(), static_cast<int>(deep.size()));
  EXPECT_EQ(within, ok);
  EXPECT_EQ(deeper, "\"" + deep + "\"");
}

}  // namespace fleetmcp::json
