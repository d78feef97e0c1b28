#include "json/csv.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace fleetmcp::json {
namespace {

Columns columns_of(const std::vector<std::pair<std::string, ValueKind>>& spec, std::vector<bool> hidden = {}) {
  Columns c;
  for (const auto& [name, kind] : spec) {
    c.keys.push_back("\"" + name + "\":");
    c.names.push_back(name);
    c.kinds.push_back(kind);
  }
  c.hidden = hidden.empty() ? std::vector<bool>(spec.size(), false) : hidden;
  return c;
}

Value text(const std::string& s) { return {s.c_str(), static_cast<int>(s.size())}; }
constexpr Value kNull{nullptr, 0};

std::pair<std::string, std::string> both(const std::vector<Value>& values, const Columns& columns) {
  std::string object, csv;
  append_object_and_csv_line(object, csv, values, columns);
  return {object, csv};
}

TEST(CsvLine, APlainRowIsCopiedStraightIn) {
  const auto columns = columns_of({{"id", ValueKind::Integer},
                                   {"name", ValueKind::Text},
                                   {"speed", ValueKind::Float},
                                   {"on", ValueKind::Boolean},
                                   {"note", ValueKind::Text}});
  const std::string id = "7", name = "Truck 7", speed = "42.5", on = "t";
  const auto [object, csv] = both({text(id), text(name), text(speed), text(on), kNull}, columns);
  EXPECT_EQ(object, R"({"id":7,"name":"Truck 7","speed":42.5,"on":true,"note":null})");
  EXPECT_EQ(csv, R"(7,Truck 7,42.5,true,\n)");  // NULL is an empty field; the line end is escaped for JSON
}

TEST(CsvLine, ValuesThatNeedQuotingOrEscapingAreWrittenAsRfc4180InAJsonString) {
  const auto columns = columns_of({{"a", ValueKind::Text},
                                   {"b", ValueKind::Text},
                                   {"c", ValueKind::Text},
                                   {"d", ValueKind::Text},
                                   {"e", ValueKind::Float}});
  const std::string comma = "x,y", quote = "say \"hi\"", newline = "l1\nl2", empty, nan = "NaN";
  const auto [object, csv] = both({text(comma), text(quote), text(newline), text(empty), text(nan)}, columns);
  EXPECT_EQ(object, R"({"a":"x,y","b":"say \"hi\"","c":"l1\nl2","d":"","e":"NaN"})");
  EXPECT_EQ(csv, R"(\"x,y\",\"say \"\"hi\"\"\",\"l1\nl2\",\"\",NaN\n)");
}

TEST(CsvLine, HiddenColumnsAreLeftOutOfBoth) {
  const auto columns = columns_of({{"a", ValueKind::Text}, {"secret", ValueKind::Text}, {"b", ValueKind::Integer}},
                                  {false, true, false});
  const std::string a = "A", secret = "hunter2", b = "2";
  const auto [object, csv] = both({text(a), text(secret), text(b)}, columns);
  EXPECT_EQ(object, R"({"a":"A","b":2})");
  EXPECT_EQ(csv, R"(A,2\n)");
}

// The one-pass path and the general encoders agree byte for byte, whatever
// mix of plain and awkward values a row holds.
TEST(CsvLine, TheOnePassPathWritesWhatTheGeneralEncodersWrite) {
  std::vector<std::string> pool = {"",
                                   "plain",
                                   "two words",
                                   "a,b",
                                   "q\"uote",
                                   "back\\slash",
                                   "tab\t",
                                   "cr\rlf\n",
                                   "caf\xC3\xA9",
                                   "bad\xFF",
                                   "NaN",
                                   "-Infinity",
                                   "1e-05",
                                   "t",
                                   "f",
                                   "{\"k\": [1, 2]}",
                                   "12345678901234567890"};
  // Awkward bytes at several positions of longer values.
  for (const char awkward : {',', '"', '\\', '\n', '\x01', '\x7f', '\x80'})
    for (std::size_t at = 0; at < 20; at += 3) {
      std::string v(20, 'v');
      v[at] = awkward;
      pool.push_back(v);
    }
  // Plain values of every length the short copies treat apart (1 to 40 bytes).
  for (std::size_t n = 1; n <= 40; ++n) {
    std::string v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(static_cast<char>('a' + i % 26));
    pool.push_back(v);
  }
  const ValueKind kinds[] = {ValueKind::Integer, ValueKind::Float, ValueKind::Boolean, ValueKind::Json,
                             ValueKind::Text};
  std::mt19937 random(20261205);
  for (int round = 0; round < 2000; ++round) {
    const std::size_t n = 1 + random() % 6;
    std::vector<std::pair<std::string, ValueKind>> spec;
    std::vector<bool> hidden;
    std::vector<Value> values;
    for (std::size_t c = 0; c < n; ++c) {
      const ValueKind kind = kinds[random() % std::size(kinds)];
      spec.emplace_back("c" + std::to_string(c), kind);
      hidden.push_back(random() % 5 == 0);
      // Mostly values of the column's own type, as PostgreSQL sends them.
      const std::string& v = kind == ValueKind::Boolean ? pool[13 + random() % 2] : pool[random() % pool.size()];
      values.push_back(random() % 7 == 0 ? kNull : text(v));
    }
    const auto columns = columns_of(spec, hidden);
    std::string object, csv;
    append_row(object, values, columns);
    append_csv_row(csv, values, columns);
    const auto [fused_object, fused_csv] = both(values, columns);
    ASSERT_EQ(fused_object, object) << "round " << round;
    ASSERT_EQ(fused_csv, csv) << "round " << round;
  }
}

}  // namespace
}  // namespace fleetmcp::json
