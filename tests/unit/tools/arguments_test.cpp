// Strict tool arguments, and the nearest-name and dialect hints of errors.
#include <gtest/gtest.h>

#include "core/nearest.hpp"
#include "sql/dialect.hpp"
#include "tools/arguments.hpp"
#include "tools/tool.hpp"

namespace fleetmcp {
namespace {

using nlohmann::json;

const tools::Tool& tool_named(const std::string& name) {
  static const auto all = tools::make_tools();
  for (const auto& t : all)
    if (t.name == name) return t;
  throw std::runtime_error("no tool " + name);
}

std::string refusal(const std::string& tool, const json& args) {
  const auto ok = tools::check_arguments(tool, tool_named(tool).input_schema, args);
  return ok ? "" : ok.error().message;
}

TEST(Arguments, AnUnknownNameIsRefusedWithTheNearestDeclaredOne) {
  EXPECT_EQ(refusal("query", {{"sql", "select 1"}, {"maxrows", 5}}),
            "unknown argument 'maxrows' (did you mean 'max_rows'?); query takes 'max_rows' and 'sql'");
  EXPECT_EQ(refusal("list_schemas", {{"schema", "x"}}), "unknown argument 'schema'; list_schemas takes no arguments");
  // What a caller sent is echoed short: a 100 KB name is not sent back whole.
  EXPECT_LT(refusal("query", {{"sql", "select 1"}, {std::string(100000, 'x'), 1}}).size(), 200u);
  EXPECT_EQ(refusal("describe_table", {{"schema", "a"}, {"table", std::string(500000, 't')}}),
            "argument 'table' is longer than 128 bytes");
  EXPECT_EQ(refusal("query", {{"sql", std::string(70000, ' ')}}), "argument 'sql' is longer than 65536 bytes");
  EXPECT_EQ(refusal("sample_table", {{"schema", "a"}, {"tabel", "b"}}).substr(0, 50),
            "unknown argument 'tabel' (did you mean 'table'?); ");
}

TEST(Arguments, ValuesOutsideTheSchemaAreRefusedByName) {
  EXPECT_EQ(refusal("query", {{"sql", "select 1"}, {"max_rows", 0}}), "argument 'max_rows' must be at least 1, not 0");
  EXPECT_EQ(refusal("query", {{"sql", "select 1"}, {"max_rows", -5}}),
            "argument 'max_rows' must be at least 1, not -5");
  EXPECT_EQ(refusal("query", {{"sql", "select 1"}, {"max_rows", "10"}}),
            "argument 'max_rows' must be an integer, not \"10\"");
  EXPECT_EQ(refusal("query", {{"sql", "select 1"}, {"max_rows", 2.5}}),
            "argument 'max_rows' must be an integer, not 2.5");
  EXPECT_EQ(refusal("query", {{"sql", 7}}), "argument 'sql' must be a string, not 7");
  // Integers a long long cannot hold are not integers here (and never reach a cast).
  EXPECT_EQ(refusal("query", {{"sql", "select 1"}, {"max_rows", 18446744073709551615ull}}),
            "argument 'max_rows' must be an integer, not 18446744073709551615");
  EXPECT_EQ(refusal("query", {{"sql", "select 1"}, {"max_rows", 1e300}}),
            "argument 'max_rows' must be an integer, not 1e+300");
  EXPECT_EQ(refusal("query", json::object()),
            "missing required argument 'sql' (string); query takes 'max_rows' and 'sql'");
  EXPECT_EQ(refusal("sample_table", {{"schema", "a"}, {"table", "b"}, {"n", 0}}),
            "argument 'n' must be at least 1, not 0");
}

TEST(Arguments, WhatTheSchemaAllowsPasses) {
  EXPECT_EQ(refusal("query", {{"sql", "select 1"}}), "");
  EXPECT_EQ(refusal("query", {{"sql", "select 1"}, {"max_rows", 100000}}), "");  // capped, and said so, later
  EXPECT_EQ(refusal("query", {{"sql", "select 1"}, {"max_rows", 3.0}}), "");
  EXPECT_EQ(refusal("query", {{"sql", "select 1"}, {"max_rows", nullptr}}), "");  // null: the default
  EXPECT_EQ(refusal("list_functions", json::object()), "");
}

TEST(Nearest, FindsMisspellingsAndNameParts) {
  const std::vector<std::string> names = {"devices", "positions", "v_trips", "incidents", "fuel_fills"};
  EXPECT_EQ(core::nearest("device", names), std::vector<std::string>{"devices"});
  EXPECT_EQ(core::nearest("postions", names), std::vector<std::string>{"positions"});
  EXPECT_EQ(core::nearest("trips", names), std::vector<std::string>{"v_trips"});
  EXPECT_EQ(core::nearest("INCIDENT", names), std::vector<std::string>{"incidents"});
  EXPECT_TRUE(core::nearest("odometer", names).empty());
  EXPECT_EQ(core::edit_distance("maxrows", "max_rows"), 1u);
  EXPECT_EQ(core::edit_distance("teh", "the"), 1u);  // a swap of neighbours
}

TEST(Dialect, ConstructsFromOtherDialectsGetTheirPostgresForm) {
  EXPECT_NE(sql::dialect_hints("select * from t where ts > now() - INTERVAL 7 DAY").find("INTERVAL '7 days'"),
            std::string::npos);
  EXPECT_NE(sql::dialect_hints("select `imei` from t").find("double quotes"), std::string::npos);
  EXPECT_NE(sql::dialect_hints("SELECT TOP 10 * FROM t").find("LIMIT n"), std::string::npos);
  EXPECT_NE(sql::dialect_hints("select * from t limit 10, 20").find("LIMIT count OFFSET offset"), std::string::npos);
  EXPECT_NE(sql::dialect_hints("select ifnull(a, 0) from t").find("coalesce"), std::string::npos);
  EXPECT_NE(sql::dialect_hints("select [name] from t").find("SQL Server"), std::string::npos);
  // Two constructs, two hints.
  EXPECT_EQ(sql::dialect_hints("select `a` from t limit 1, 2").find("\nHint: LIMIT"),
            sql::dialect_hints("select `a` from t limit 1, 2").find('\n'));
  // PostgreSQL's own forms, and lookalikes inside literals and comments, get none.
  EXPECT_EQ(sql::dialect_hints("select now() - interval '7 days', ARRAY[a], x[1] from t limit 5 offset 2"), "");
  EXPECT_EQ(sql::dialect_hints("select 'INTERVAL 7 DAY `x`' -- limit 1, 2\n from t"), "");
}

}  // namespace
}  // namespace fleetmcp
