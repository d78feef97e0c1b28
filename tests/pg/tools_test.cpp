// The six tools against the real fixture, as the read-only role.
#include <gtest/gtest.h>

#include "harness.hpp"
#include "support/csv_text.hpp"

namespace fleetmcp::testing {
namespace {

class ToolsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer([](config::Config& c) { c.max_rows = 50; });
  }
  static void TearDownTestSuite() { delete server_; }

  static json ok(const std::string& tool, const json& args) {
    json r = server_->call_tool(tool, args);
    EXPECT_EQ(r["isError"], false) << r.dump();
    // The text says what the structured content says: as CSV for the row
    // tools, as the same JSON for the others.
    const std::string text = r["content"][0]["text"];
    if (tool == "query" || tool == "sample_table")
      EXPECT_TRUE(csv_matches(text, r["structuredContent"]));
    else
      EXPECT_EQ(json::parse(text), r["structuredContent"]);
    return r["structuredContent"];
  }
  static std::string error_text(const std::string& tool, const json& args) {
    json r = server_->call_tool(tool, args);
    EXPECT_EQ(r["isError"], true) << r.dump();
    EXPECT_FALSE(r.contains("structuredContent"));
    return r["content"][0]["text"];
  }
  static json query(const std::string& sql, int max_rows = 1000) {
    return ok("query", {{"sql", sql}, {"max_rows", max_rows}});
  }

  static TestServer* server_;
};
TestServer* ToolsTest::server_ = nullptr;

// libpq would cut a name at a zero byte: describe_table must not describe
// tickets.users for "users\0anything", nor a resource read serve it.
TEST_F(ToolsTest, AZeroByteInANameIsRefusedNotCut) {
  json r = server_->call_tool("describe_table", {{"schema", "tickets"}, {"table", std::string("users\0anything", 14)}});
  EXPECT_EQ(r["isError"], true) << r.dump();
  EXPECT_NE(r.dump().find("zero byte"), std::string::npos) << r.dump();
  json q = server_->call_tool("query", {{"sql", std::string("SELECT 1 AS one\0; DROP TABLE x", 31)}});
  EXPECT_EQ(q["isError"], true) << q.dump();
  auto read = server_->post({{"jsonrpc", "2.0"},
                             {"id", 1},
                             {"method", "resources/read"},
                             {"params", {{"uri", "fleetmcp://table/tickets/users%00xx"}}}});
  EXPECT_TRUE(read.json_body().contains("error")) << read.body;
}

TEST_F(ToolsTest, ValuesAreTypedByColumnType) {
  json r = query(
      "SELECT 42 AS i, 9007199254740993::bigint AS big, 1.50::numeric(4,2) AS n, 'NaN'::numeric AS nan, "
      "2.5::float8 AS f, true AS b, NULL::int AS nothing, '{\"a\":[1,null]}'::jsonb AS j, "
      "'[1,2]'::json AS js, timestamptz '2026-01-01 08:00:00+00' AS ts, date '2026-01-02' AS d, "
      "interval '90 minutes' AS iv, E'tab\\there \"q\" é' AS t, ARRAY[1,2] AS arr, "
      "'\\x00ff'::bytea AS raw, 1 AS dup, 2 AS dup");
  ASSERT_EQ(r["row_count"], 1);
  const json& row = r["rows"][0];
  EXPECT_EQ(row["i"], 42);
  EXPECT_TRUE(row["big"].is_number_integer());
  EXPECT_EQ(row["big"].get<long long>(), 9007199254740993LL);
  EXPECT_EQ(row["n"], 1.5);
  EXPECT_EQ(row["nan"], "NaN");
  EXPECT_EQ(row["f"], 2.5);
  EXPECT_EQ(row["b"], true);
  EXPECT_TRUE(row["nothing"].is_null());
  EXPECT_EQ(row["j"], json::parse(R"({"a":[1,null]})"));
  EXPECT_EQ(row["js"], json::array({1, 2}));
  EXPECT_EQ(row["ts"], "2026-01-01 08:00:00+00");
  EXPECT_EQ(row["d"], "2026-01-02");
  EXPECT_EQ(row["iv"], "01:30:00");
  EXPECT_EQ(row["t"], "tab\there \"q\" é");
  EXPECT_EQ(row["arr"], "{1,2}");
  EXPECT_EQ(row["raw"], "\\x00ff");
  EXPECT_EQ(row["dup"], 1);
  EXPECT_EQ(row["dup_2"], 2);  // a repeated column name keeps both values
}

TEST_F(ToolsTest, TheSeedsAppendedLimitBugsDoNotExist) {
  EXPECT_EQ(query("SELECT 1 AS a -- a trailing comment, no newline")["rows"][0]["a"], 1);
  EXPECT_EQ(query("SELECT g FROM generate_series(1, 10) g LIMIT 5;")["row_count"], 5);
  EXPECT_EQ(query("select count(*) as n from tracksolid.positions /* block */")["rows"][0]["n"], 3000);
  // A statement with its own LIMIT larger than max_rows is still capped, truncated exact.
  json r = query("SELECT g FROM generate_series(1, 100) g LIMIT 20", 7);
  EXPECT_EQ(r["row_count"], 7);
  EXPECT_EQ(r["truncated"], true);
}

TEST_F(ToolsTest, RowCapIsExactAndClamped) {
  json exact = query("SELECT g FROM generate_series(1, 10) g", 10);
  EXPECT_EQ(exact["row_count"], 10);
  EXPECT_EQ(exact["truncated"], false);
  json over = query("SELECT g FROM generate_series(1, 11) g", 10);
  EXPECT_EQ(over["row_count"], 10);
  EXPECT_EQ(over["truncated"], true);
  // Below the schema's minimum: an error naming the argument, not a silent 1.
  EXPECT_NE(error_text("query", {{"sql", "SELECT 1"}, {"max_rows", 0}}).find("'max_rows' must be at least 1"),
            std::string::npos);
  // Above the server's ceiling: lowered, and the result says so.
  json ceiling = query("SELECT g FROM generate_series(1, 500) g", 100000);
  EXPECT_EQ(ceiling["row_count"], 50);  // MCP_MAX_ROWS of this server
  EXPECT_EQ(ceiling["truncated"], true);
  EXPECT_EQ(ceiling["max_rows_applied"], 50);
  const std::string text =
      server_->call_tool("query", {{"sql", "SELECT 1 AS a"}, {"max_rows", 100000}})["content"][0]["text"];
  EXPECT_NE(text.find("100000 rows were asked for, the server's ceiling is 50 (MCP_MAX_ROWS)"), std::string::npos)
      << text;
  EXPECT_FALSE(query("SELECT 1 AS a", 50).contains("max_rows_applied"));
  EXPECT_EQ(ok("query", {{"sql", "SELECT g FROM generate_series(1, 2000) g"}})["row_count"], 50);
}

TEST(ToolsText, TheFirstLimitToBindCutsTextAndRowsAtTheSameRow) {
  // 400 tokens: a 1,000-byte text budget.
  TestServer server([](config::Config& c) { c.max_text_tokens = 400; });
  json r = server.call_tool("query", {{"sql", "SELECT id, imei, ts FROM tracksolid.positions ORDER BY id"}});
  const std::string text = r["content"][0]["text"];
  const json& s = r["structuredContent"];
  EXPECT_LE(text.size(), 1000u);
  EXPECT_EQ(s["truncated"], true);
  EXPECT_EQ(s["truncated_by"], "text_budget");
  EXPECT_GT(s["row_count"].get<int>(), 3);
  auto footer = csv_matches(text, s);
  ASSERT_TRUE(footer);
  EXPECT_NE(std::string(footer.message()).find("MCP_MAX_TEXT_TOKENS = 400"), std::string::npos) << footer.message();
  // A max_rows below what the budget holds binds first, and says so.
  r = server.call_tool("query", {{"sql", "SELECT id FROM tracksolid.positions ORDER BY id"}, {"max_rows", 2}});
  EXPECT_EQ(r["structuredContent"]["truncated_by"], "max_rows");
  EXPECT_TRUE(csv_matches(r["content"][0]["text"], r["structuredContent"]));
  // A first row wider than the budget: no paging advice, narrower rows (outside review).
  r = server.call_tool("query", {{"sql", "SELECT g, repeat('x', 5000) AS w FROM generate_series(1, 3) g"}});
  EXPECT_EQ(r["structuredContent"]["row_count"], 0);
  EXPECT_EQ(r["structuredContent"]["truncated_by"], "text_budget");
  const std::string note = r["structuredContent"]["note"];
  EXPECT_NE(note.find("first row alone"), std::string::npos) << note;
  EXPECT_EQ(note.find("WHERE <key>"), std::string::npos) << note;
  // NULL, the empty string and values that need quoting read back unambiguously.
  r = server.call_tool("query",
                       {{"sql", "SELECT NULL::text AS n, '' AS e, 'a,\"b\"' AS q, E'x\ny' AS nl, false AS f"}});
  EXPECT_EQ(r["content"][0]["text"], "n,e,q,nl,f\n,\"\",\"a,\"\"b\"\"\",\"x\ny\",false\n(1 row)");
  EXPECT_TRUE(csv_matches(r["content"][0]["text"], r["structuredContent"]));
  // The header and the footer count too (an outside review sent 1,600 long
  // column names, and 1,500 columns named "token"): never a text over budget.
  std::string wide = "SELECT ";
  for (int i = 0; i < 1600; ++i)
    wide += (i ? ", " : "") + std::to_string(i) + " AS \"a long column name " + std::to_string(i) + "\"";
  r = server.call_tool("query", {{"sql", wide}});
  EXPECT_EQ(r["isError"], true);
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("column names alone take"), std::string::npos) << r.dump();
  std::string hidden = "SELECT 1 AS id";
  for (int i = 0; i < 150; ++i) hidden += ", 0 AS token";
  r = server.call_tool("query", {{"sql", hidden}});
  EXPECT_LE(r["content"][0]["text"].get<std::string>().size(), 1000u);
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("more (all named in structuredContent's redacted_columns)"),
            std::string::npos)
      << r["content"][0]["text"];
  EXPECT_EQ(r["structuredContent"]["redacted_columns"].size(), 150u);
  EXPECT_TRUE(csv_matches(r["content"][0]["text"], r["structuredContent"]));
  // Clients that size their cap by it learn the budget from tools/list.
  json listed = server.post({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/list"}}).json_body();
  for (const auto& tool : listed["result"]["tools"])
    if (tool["name"] == "query") {
      EXPECT_EQ(tool["_meta"]["anthropic/maxResultSizeChars"], 1000);
    }
}

TEST_F(ToolsTest, EveryCallIsAReadOnlyTransactionWithATimeout) {
  json row = query(
      "SELECT current_setting('transaction_read_only') AS ro, current_setting('statement_timeout') AS st, "
      "current_user AS who")["rows"][0];
  EXPECT_EQ(row["ro"], "on");
  EXPECT_EQ(row["st"], "30s");
  EXPECT_EQ(row["who"], "analytics_ro");
}

TEST_F(ToolsTest, PostgresErrorsCarrySqlstateAndPosition) {
  std::string text = error_text("query", {{"sql", "SELECT imei FROM tracksolid.devices WHERE nope = 1"}});
  EXPECT_NE(text.find("42703"), std::string::npos) << text;
  EXPECT_NE(text.find("column \"nope\" does not exist"), std::string::npos) << text;
  EXPECT_NE(text.find("at position 43"), std::string::npos) << text;
  // Position counts from the analyst's own text, leading comment included.
  text = error_text("query", {{"sql", "/* c */ SELECT * FROM missing_table"}});
  EXPECT_NE(text.find("42P01"), std::string::npos) << text;
  EXPECT_NE(text.find("at position 23"), std::string::npos) << text;
  // Division by zero happens at run time, inside the cursor.
  text = error_text("query", {{"sql", "SELECT 1 / 0"}});
  EXPECT_NE(text.find("22012"), std::string::npos) << text;
  text = error_text("query", {{"sql", "SELECT * FROM secret_stuff.keys"}});
  EXPECT_NE(text.find("rule schema_not_readable"), std::string::npos) << text;
}

// Every tool error ends with what to try next, and names what was probably meant.
TEST_F(ToolsTest, ErrorsNameWhatWasMeantAndWhatToTryNext) {
  const auto last_line = [](const std::string& text) { return text.substr(text.rfind('\n') + 1); };
  // An unknown relation: the nearest readable ones, schema-qualified.
  std::string text = error_text("query", {{"sql", "SELECT * FROM tracksolid.device"}});
  EXPECT_NE(text.find("Did you mean 'tracksolid.devices'?"), std::string::npos) << text;
  EXPECT_EQ(last_line(text).rfind("Next: Call list_tables", 0), 0u) << text;
  text = error_text("query", {{"sql", "SELECT count(*) FROM positions"}});  // unqualified, off the search path
  EXPECT_NE(text.find("'tracksolid.positions'"), std::string::npos) << text;
  // An unknown column: PostgreSQL's own hint when it has one, else near names from the catalog.
  text = error_text("query", {{"sql", "SELECT imeii FROM tracksolid.devices"}});
  EXPECT_NE(text.find("Perhaps you meant to reference the column \"devices.imei\""), std::string::npos) << text;
  text = error_text("query", {{"sql", "SELECT litre FROM tracksolid.devices"}});  // a column of another table
  EXPECT_NE(text.find("'fuel.records.litres'"), std::string::npos) << text;
  EXPECT_EQ(last_line(text).rfind("Next: Call describe_table", 0), 0u) << text;
  // A call with the wrong argument types: the function's real signatures.
  text = error_text("query", {{"sql", "SELECT reporting.fn_points(42)"}});
  EXPECT_NE(text.find("reporting.fn_points(p_imei text)"), std::string::npos) << text;
  EXPECT_EQ(last_line(text).rfind("Next: Call one of the signatures shown", 0), 0u) << text;
  // A schema outside the readable list: the readable ones.
  text = error_text("query", {{"sql", "SELECT * FROM secret_stuff.keys"}});
  EXPECT_NE(text.find("readable schemas: "), std::string::npos) << text;
  // Another dialect's syntax: the PostgreSQL form.
  text = error_text("query", {{"sql", "SELECT * FROM tracksolid.positions WHERE ts > now() - INTERVAL 7 DAY"}});
  EXPECT_NE(text.find("Hint: INTERVAL 7 DAY is MySQL; PostgreSQL writes INTERVAL '7 days'"), std::string::npos) << text;
  // Its functions too, which the guard refuses as unknown rather than as syntax.
  text = error_text("query", {{"sql", "SELECT ifnull(speed, 0) FROM tracksolid.positions"}});
  EXPECT_NE(text.find("Hint: IFNULL is MySQL; PostgreSQL writes coalesce(a, b)"), std::string::npos) << text;
  EXPECT_EQ(text.find("signatures shown"), std::string::npos) << text;
  text = error_text("query", {{"sql", "SELECT TOP 5 imei FROM tracksolid.devices"}});
  EXPECT_NE(text.find("LIMIT n"), std::string::npos) << text;
  // Unknown arguments, with the nearest valid name.
  text = error_text("query", {{"sql", "SELECT 1"}, {"maxrows", 5}});
  EXPECT_NE(text.find("unknown argument 'maxrows' (did you mean 'max_rows'?)"), std::string::npos) << text;
  text = error_text("describe_table", {{"schema", "tracksolid"}, {"tabel", "devices"}});
  EXPECT_NE(text.find("did you mean 'table'?"), std::string::npos) << text;
  // Every one of them ends with a Next: line.
  for (const char* sql : {"SELECT 1 / 0", "SELECT 'x'::int", "SELECT pg_terminate_backend(1)"})
    EXPECT_EQ(last_line(error_text("query", {{"sql", sql}})).rfind("Next: ", 0), 0u) << sql;
}

// What period the data covers, read from the time axis's index, where a
// model looks: the instructions, the overview and an empty result.
TEST_F(ToolsTest, AnEmptyResultNamesThePeriodTheDataCovers) {
  const std::string covers = "tracksolid.positions.ts from 2026-01-01 00:01:00+00 to 2026-01-03 02:00:00+00";
  json r = server_->call_tool("query", {{"sql",
                                         "SELECT count(*) FROM tracksolid.positions WHERE ts > now() - "
                                         "interval '7 days' GROUP BY imei"}});
  const std::string text = r["content"][0]["text"];
  EXPECT_NE(text.find("(0 rows; the data read covers " + covers + ": a filter outside that period finds nothing)"),
            std::string::npos)
      << text;
  // Unqualified names are found by the search path; rows found need no such note.
  r = server_->call_tool("query", {{"sql", "SET search_path = tracksolid"}});  // refused: no session state
  EXPECT_EQ(r["isError"], true);
  EXPECT_EQ(query("SELECT count(*) FROM tracksolid.positions WHERE ts < '2026-01-02'")["row_count"], 1);
  const std::string found =
      server_->call_tool("query", {{"sql", "SELECT 1 FROM tracksolid.positions LIMIT 1"}})["content"][0]["text"];
  EXPECT_EQ(found.find("covers"), std::string::npos) << found;

  json init = server_->post(initialize_request()).json_body();
  const std::string instructions = init["result"]["instructions"];
  EXPECT_NE(instructions.find("tracksolid: 2026-01-01 00:01:00+00 to 2026-01-03 02:00:00+00 (newest: positions.ts)"),
            std::string::npos)
      << instructions;
  json overview = server_
                      ->post({{"jsonrpc", "2.0"},
                              {"id", 2},
                              {"method", "resources/read"},
                              {"params", {{"uri", "fleetmcp://overview"}}}})
                      .json_body();
  const std::string page = overview["result"]["contents"][0]["text"];
  EXPECT_NE(page.find("- positions (table, ~3,000 rows; ts from 2026-01-01 00:01:00+00 to 2026-01-03 02:00:00+00)"),
            std::string::npos)
      << page;
  json table = server_
                   ->post({{"jsonrpc", "2.0"},
                           {"id", 3},
                           {"method", "resources/read"},
                           {"params", {{"uri", "fleetmcp://table/tracksolid/positions"}}}})
                   .json_body();
  const json doc = json::parse(table["result"]["contents"][0]["text"].get<std::string>());
  EXPECT_EQ(doc["coverage"],
            json({{"column", "ts"}, {"first", "2026-01-01 00:01:00+00"}, {"last", "2026-01-03 02:00:00+00"}}));
}

TEST_F(ToolsTest, TheRoleHoldsWhereTheGuardIsRelaxed) {
  // Schema enforcement off: the role's grants still refuse the unreadable schema.
  TestServer open([](config::Config& c) { c.enforce_schemas = false; });
  json r = open.call_tool("query", {{"sql", "SELECT * FROM secret_stuff.keys"}});
  EXPECT_EQ(r["isError"], true);
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("42501"), std::string::npos) << r.dump();
  // Denied a schema, not a relation: column names would not help, so no such hint.
  EXPECT_EQ(r["content"][0]["text"].get<std::string>().find("Hint: tables with sensitive columns"), std::string::npos)
      << r.dump();
}

TEST_F(ToolsTest, WritesAreRejectedAndChangeNothing) {
  Admin admin;
  const std::string before = admin.scalar("SELECT count(*) || ':' || max(summary) FROM tickets.inc");
  for (const char* sql :
       {"DELETE FROM tickets.inc", "UPDATE tickets.inc SET summary = 'x'",
        "WITH d AS (DELETE FROM tickets.inc RETURNING *) SELECT * FROM d", "SELECT 1; DELETE FROM tickets.inc",
        "COMMIT; DELETE FROM tickets.inc", "SELECT set_config('default_transaction_read_only', 'off', false)"}) {
    std::string text = error_text("query", {{"sql", sql}});
    EXPECT_NE(text.find("Rejected by the SQL guard"), std::string::npos) << sql << ": " << text;
  }
  EXPECT_EQ(admin.scalar("SELECT count(*) || ':' || max(summary) FROM tickets.inc"), before);
  // Keywords inside literals are data, not commands.
  json r = query("SELECT number FROM tickets.inc WHERE summary ILIKE '%delete%' OR summary ILIKE '%update%'");
  EXPECT_EQ(r["row_count"], 2);
}

TEST_F(ToolsTest, ListSchemasShowsOnlyReadableOnes) {
  json r = ok("list_schemas", json::object());
  std::vector<std::string> names;
  for (const auto& s : r["result"]) names.push_back(s["schema"]);
  EXPECT_EQ(names, (std::vector<std::string>{"fuel", "reporting", "tickets", "tracksolid"}));
  EXPECT_EQ(r["result"][3]["objects"], 2);  // tracksolid: devices, positions
}

TEST_F(ToolsTest, ListTablesIncludesViewsAndMaterializedViews) {
  json r = ok("list_tables", {{"schema", "reporting"}});
  std::map<std::string, std::string> kinds;
  for (const auto& t : r["result"]) kinds[t["name"]] = t["kind"];
  EXPECT_EQ(kinds["refresh_log"], "BASE TABLE");
  EXPECT_EQ(kinds["v_daily_summary"], "VIEW");
  EXPECT_EQ(kinds["v_trips"], "MATERIALIZED VIEW");
  EXPECT_EQ(kinds["odd\"name"], "BASE TABLE");
  std::string text = error_text("list_tables", {{"schema", "secret_stuff"}});
  EXPECT_NE(text.find("readable schemas: reporting, tracksolid, tickets, fuel"), std::string::npos);
}

TEST_F(ToolsTest, DescribeTableListsColumnsInOrder) {
  json r = ok("describe_table", {{"schema", "tracksolid"}, {"table", "devices"}});
  ASSERT_EQ(r["result"].size(), 4u);
  EXPECT_EQ(r["result"][0]["column"], "imei");
  EXPECT_EQ(r["result"][0]["type"], "text");
  EXPECT_EQ(r["result"][0]["nullable"], "NO");
  EXPECT_EQ(r["result"][0]["comment"], "device identifier");
  EXPECT_EQ(r["result"][3]["column"], "active");
  EXPECT_EQ(r["result"][3]["default"], "true");
  json mv = ok("describe_table", {{"schema", "reporting"}, {"table", "v_trips"}});
  EXPECT_EQ(mv["result"].size(), 3u);
  std::string text = error_text("describe_table", {{"schema", "tracksolid"}, {"table", "nope"}});
  EXPECT_NE(text.find("no table or view named 'nope'"), std::string::npos) << text;
}

TEST_F(ToolsTest, ListFunctionsDefaultsToReporting) {
  json r = ok("list_functions", json::object());
  ASSERT_EQ(r["result"].size(), 1u);
  EXPECT_EQ(r["result"][0]["name"], "fn_points");
  EXPECT_EQ(r["result"][0]["args"], "p_imei text");
  EXPECT_EQ(r["result"][0]["returns"], "bigint");
  EXPECT_EQ(query("SELECT reporting.fn_points('860000000000001') AS n")["rows"][0]["n"], 1000);
}

TEST_F(ToolsTest, SampleTableQuotesIdentifiers) {
  json r = ok("sample_table", {{"schema", "reporting"}, {"table", "odd\"name"}});
  EXPECT_EQ(r["row_count"], 2);
  EXPECT_EQ(r["rows"][0]["select"], "from");
  EXPECT_EQ(r["rows"][1]["Mixed Case"], "NaN");
  EXPECT_EQ(ok("sample_table", {{"schema", "tracksolid"}, {"table", "positions"}, {"n", 3}})["row_count"], 3);
  // An injection attempt through the table name is just a strange, missing name.
  std::string text =
      error_text("sample_table", {{"schema", "tickets"}, {"table", "inc\"; DELETE FROM tickets.inc; --"}});
  EXPECT_NE(text.find("42P01"), std::string::npos) << text;
  Admin admin;
  EXPECT_EQ(admin.scalar("SELECT count(*) FROM tickets.inc"), "3");
  text = error_text("sample_table", {{"schema", "secret_stuff"}, {"table", "keys"}});
  EXPECT_NE(text.find("not readable"), std::string::npos);
}

TEST_F(ToolsTest, SensitiveColumnsNeverLeaveTheServer) {
  // The role has column-level grants on tickets.users (scripts/analytics_ro_role.sql):
  // PostgreSQL itself refuses `*`, and the error says what to do instead.
  std::string star = error_text("query", {{"sql", "SELECT * FROM tickets.users ORDER BY id"}});
  EXPECT_NE(star.find("PostgreSQL error 42501: permission denied for table users"), std::string::npos) << star;
  EXPECT_NE(star.find("Hint: tables with sensitive columns"), std::string::npos) << star;
  EXPECT_NE(star.find("name the columns you need"), std::string::npos) << star;
  // A whole row never gets that far: the guard refuses it first.
  std::string row = error_text("query", {{"sql", "SELECT row_to_json(u) FROM tickets.users u"}});
  EXPECT_NE(row.find("rule whole_row"), std::string::npos) << row;
  json r = query("SELECT id, email FROM tickets.users ORDER BY id");
  ASSERT_EQ(r["row_count"], 2);
  EXPECT_EQ(r["rows"][0]["email"], "admin@example.com");
  // sample_table selects the readable columns only, and names the others.
  json sample = ok("sample_table", {{"schema", "tickets"}, {"table", "users"}});
  ASSERT_EQ(sample["row_count"], 2);
  EXPECT_EQ(sample["rows"][0]["email"], "admin@example.com");
  for (const char* column : {"id", "email", "first_name", "last_name", "is_super_admin"})
    EXPECT_TRUE(sample["rows"][1].contains(column)) << column;
  EXPECT_FALSE(sample["rows"][1].contains("password_hash"));
  EXPECT_FALSE(sample["rows"][1].contains("api_key"));
  EXPECT_EQ(sample["redacted_columns"], json::array({"password_hash", "api_key"}));
  EXPECT_FALSE(ok("sample_table", {{"schema", "tickets"}, {"table", "inc"}}).contains("redacted_columns"));
  EXPECT_FALSE(query("SELECT id FROM tickets.users").contains("redacted_columns"));
  for (const char* sql :
       {"SELECT password_hash FROM tickets.users", "SELECT id FROM tickets.users WHERE api_key LIKE 'ak_live%'"}) {
    std::string text = error_text("query", {{"sql", sql}});
    EXPECT_NE(text.find("rule sensitive_column"), std::string::npos) << text;
  }
}

TEST_F(ToolsTest, ExplainAndShowRunOutsideTheCursor) {
  json plan = query("EXPLAIN (COSTS OFF) SELECT * FROM tracksolid.devices WHERE imei = 'x'");
  ASSERT_GE(plan["row_count"].get<int>(), 1);
  EXPECT_NE(plan["rows"][0]["QUERY PLAN"].get<std::string>().find("devices"), std::string::npos);
  EXPECT_EQ(query("SHOW statement_timeout")["rows"][0]["statement_timeout"], "30s");
  // EXPLAIN ANALYZE runs the SELECT, inside the same read-only transaction and timeout.
  json analyzed = query("EXPLAIN ANALYZE SELECT count(*) FROM tracksolid.positions");
  EXPECT_NE(analyzed["rows"][0]["QUERY PLAN"].get<std::string>().find("actual time"), std::string::npos);
  std::string text = error_text("query", {{"sql", "EXPLAIN ANALYZE SELECT pg_sleep(1)"}});
  EXPECT_NE(text.find("rule denied_function"), std::string::npos);
  text = error_text("query", {{"sql", "SHOW data_directory"}});
  EXPECT_NE(text.find("rule secret_setting"), std::string::npos);
  // A long EXPLAIN is capped like any result.
  json capped = query(
      "EXPLAIN SELECT * FROM tracksolid.positions p JOIN tracksolid.devices d USING (imei) "
      "JOIN fuel.records f USING (imei)",
      2);
  EXPECT_EQ(capped["row_count"], 2);
  EXPECT_EQ(capped["truncated"], true);
}

TEST_F(ToolsTest, EachCallWritesOneAuditLine) {
  const auto before = server_->audit_log().size();
  query("SELECT 7 AS seven");
  error_text("query", {{"sql", "DROP TABLE tickets.inc"}});
  std::string log = server_->audit_log().substr(before);
  std::istringstream lines(log);
  std::string line;
  std::vector<json> records;
  while (std::getline(lines, line)) records.push_back(json::parse(line));
  ASSERT_EQ(records.size(), 2u) << log;
  EXPECT_EQ(records[0]["caller"], "tester");
  EXPECT_EQ(records[0]["tool"], "query");
  EXPECT_EQ(records[0]["sql"], "SELECT 7 AS seven");
  EXPECT_EQ(records[0]["rows"], 1);
  EXPECT_EQ(records[0]["outcome"], "ok");
  EXPECT_FALSE(records[0]["fingerprint"].get<std::string>().empty());
  EXPECT_TRUE(records[0]["ms"].is_number());
  EXPECT_EQ(records[1]["outcome"], "denied");
  EXPECT_EQ(records[1]["rule"], "statement_kind");
}

}  // namespace
}  // namespace fleetmcp::testing
