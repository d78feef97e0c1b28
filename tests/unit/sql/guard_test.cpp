#include "sql/guard.hpp"

#include <gtest/gtest.h>

namespace fleetmcp::sql {
namespace {

struct Case {
  const char* sql;
  const char* rule;  // nullptr: allowed
};

// Each case's verdict: allowed, or refused with that rule.
template <std::size_t N>
void expect_verdicts(const Case (&cases)[N], const Policy& policy) {
  for (const auto& c : cases) {
    auto verdict = validate(c.sql, policy);
    if (c.rule == nullptr) {
      EXPECT_TRUE(verdict.ok()) << c.sql << " -> " << (verdict.ok() ? "" : verdict.error().message);
    } else {
      ASSERT_FALSE(verdict.ok()) << c.sql;
      EXPECT_EQ(verdict.error().rule, c.rule) << c.sql << " -> " << verdict.error().message;
    }
  }
}

TEST(Guard, VerdictsOnTheParseTree) {
  const Case cases[] = {
      // Reads in their forms.
      {"SELECT 1", nullptr},
      {"select 1;", nullptr},
      {"SELECT 1 -- trailing comment without newline", nullptr},
      {"/* leading */ SELECT 1", nullptr},
      {"VALUES (1), (2)", nullptr},
      {"TABLE tickets.inc", nullptr},
      {"SELECT 1 UNION ALL SELECT 2 EXCEPT SELECT 3", nullptr},
      {"WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT * FROM t", nullptr},
      {"SELECT * FROM tracksolid.positions p, LATERAL (SELECT p.speed * 2 AS s) x", nullptr},
      {"SELECT imei, row_number() OVER (PARTITION BY imei ORDER BY ts) FROM tracksolid.positions", nullptr},
      {"SELECT * FROM tickets.inc ORDER BY id OFFSET 1 FETCH FIRST 2 ROWS ONLY", nullptr},
      {"SELECT * FROM tickets.inc WHERE summary ILIKE '%please delete%'", nullptr},
      {"SELECT 'DROP TABLE x; COMMIT; DELETE FROM y' AS text", nullptr},
      {"SELECT \"delete\", \"update\" FROM (SELECT 1 AS \"delete\", 2 AS \"update\") t", nullptr},
      {"SELECT $tag$ ; DELETE FROM x; $tag$", nullptr},
      {"SELECT E'\\'; DROP TABLE x; --'", nullptr},
      {"SELECT pg_advisory_xact_lock(1)", "denied_function"},
      {"SELECT count(*) FROM tickets.inc WHERE sla_status = 'breached'", nullptr},
      {"EXPLAIN SELECT * FROM tickets.inc", nullptr},
      {"EXPLAIN (COSTS OFF, FORMAT JSON) SELECT 1", nullptr},
      {"SHOW search_path", nullptr},
      {"SELECT * FROM pg_catalog.pg_class JOIN information_schema.tables ON true", nullptr},
      // Not a read.
      {"", "empty"},
      {"-- only a comment", "empty"},
      {"/* nothing */ ;", "empty"},
      {"SELEC 1", "parse_error"},
      {"SELECT 1; SELECT 2", "multiple_statements"},
      {"SELECT 1; DELETE FROM tickets.inc", "multiple_statements"},
      {"COMMIT; DROP TABLE tickets.inc", "multiple_statements"},
      {"DELETE FROM tickets.inc", "statement_kind"},
      {"UPDATE reporting.refresh_log SET notes = 'x'", "statement_kind"},
      {"INSERT INTO fuel.records (imei) VALUES ('x')", "statement_kind"},
      {"DROP TABLE tickets.inc", "statement_kind"},
      {"CREATE TABLE x (i int)", "statement_kind"},
      {"SET statement_timeout = 0", "statement_kind"},
      {"SET ROLE postgres", "statement_kind"},
      {"RESET ALL", "statement_kind"},
      {"BEGIN", "statement_kind"},
      {"COPY tickets.inc TO '/tmp/x'", "statement_kind"},
      {"DO $$ BEGIN END $$", "statement_kind"},
      {"REFRESH MATERIALIZED VIEW reporting.v_trips", "statement_kind"},
      {"EXPLAIN ANALYZE SELECT 1", nullptr},
      {"EXPLAIN (FORMAT JSON, ANALYZE) SELECT 1", nullptr},
      {"EXPLAIN ANALYZE DELETE FROM tickets.inc", "statement_kind"},
      {"EXPLAIN DELETE FROM tickets.inc", "statement_kind"},
      {"SHOW data_directory", "secret_setting"},
      {"SHOW ALL", "secret_setting"},
      {"SELECT * FROM pg_catalog.pg_authid", "secret_catalog"},
      {"SELECT * FROM pg_shadow", "secret_catalog"},
      {"SELECT * FROM secret_stuff.keys", "schema_not_readable"},
      {"SELECT public.f()", "schema_not_readable"},
      {"WITH d AS (DELETE FROM tickets.inc RETURNING *) SELECT * FROM d", "statement_kind"},
      {"SELECT * FROM (WITH u AS (UPDATE t SET a = 1 RETURNING a) SELECT * FROM u) s", "statement_kind"},
      {"SELECT * INTO new_table FROM tickets.inc", "select_into"},
      {"SELECT * FROM tickets.inc FOR UPDATE", "locking_clause"},
      {"SELECT * FROM tickets.inc FOR KEY SHARE", "locking_clause"},
      {"SELECT set_config('default_transaction_read_only', 'off', false)", "denied_function"},
      {"SELECT pg_catalog.set_config('a', 'b', true)", "denied_function"},
      {"SELECT PG_SLEEP(10)", "denied_function"},
      {"SELECT * FROM tickets.inc WHERE id = (SELECT nextval('s'))", "volatile_function"},
      {"SELECT pg_read_file('/etc/passwd')", "denied_function"},
      {"SELECT lo_import('/etc/passwd')", "denied_function"},
      {"SELECT pg_terminate_backend(1)", "denied_function"},
      {"SELECT pg_advisory_lock(1)", "denied_function"},
      {"SELECT * FROM dblink('host=x', 'select 1') AS t(a int)", "denied_function"},
      {"SELECT query_to_xml('select 1', true, true, '')", "denied_function"},
  };
  for (const auto& c : cases) {
    auto verdict = validate(c.sql);
    if (c.rule == nullptr) {
      EXPECT_TRUE(verdict.ok()) << c.sql << " -> " << (verdict.ok() ? "" : verdict.error().message);
    } else {
      ASSERT_FALSE(verdict.ok()) << c.sql;
      EXPECT_EQ(verdict.error().kind, core::ErrorKind::Denied) << c.sql;
      EXPECT_EQ(verdict.error().rule, c.rule) << c.sql << " -> " << verdict.error().message;
    }
  }
}

TEST(Guard, RunsExactlyTheStatementTextPlusNewline) {
  // The first statement's text starts at the input's start, leading comment included.
  auto v = validate("  /* hello */ SELECT 1 AS a -- note");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->text, "  /* hello */ SELECT 1 AS a -- note\n");
  EXPECT_FALSE(v->fingerprint.empty());
  auto semi = validate("SELECT g FROM generate_series(1, 10) g LIMIT 5;");
  ASSERT_TRUE(semi.ok());
  EXPECT_EQ(semi->text, "SELECT g FROM generate_series(1, 10) g LIMIT 5\n");
}

TEST(Guard, SameShapeSameFingerprint) {
  auto a = validate("SELECT * FROM tickets.inc WHERE id = 1");
  auto b = validate("select *  from tickets.inc where id = 42");
  auto c = validate("SELECT * FROM tickets.crq WHERE id = 1");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->fingerprint, b->fingerprint);
  EXPECT_NE(a->fingerprint, c->fingerprint);
  // Pinned: the audit groups by this value across runs, hosts and builds.
  EXPECT_EQ(a->fingerprint, "9a6c4fe955ca5dd9");
  // Names of every length the hash reads differently (0-3, 4-7, 8-16, longer
  // in 16-byte steps) differ in one byte anywhere.
  for (std::size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40}) {
    std::string name(n, 'a');
    auto base = validate("SELECT \"" + name + "\" FROM tickets.inc");
    ASSERT_TRUE(base.ok());
    for (std::size_t i = 0; i < n; ++i) {
      std::string other = name;
      other[i] = 'b';
      auto v = validate("SELECT \"" + other + "\" FROM tickets.inc");
      ASSERT_TRUE(v.ok());
      EXPECT_NE(v->fingerprint, base->fingerprint) << n << " bytes, byte " << i;
    }
  }
}

TEST(Guard, RejectionsCarryPositionsAndNames) {
  auto e = validate("SELECT 1;\nDELETE FROM x");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().position, 11);
  auto f = validate("SELECT abs(1), pg_sleep(1)");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("pg_sleep"), std::string::npos);
  EXPECT_EQ(f.error().position, 16);
  auto p = validate("SELECT * FORM t");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().rule, "parse_error");
  EXPECT_NE(p.error().message.find("syntax error"), std::string::npos);
  EXPECT_GT(p.error().position, 0);
}

TEST(Guard, SensitiveColumnsCannotBeNamedAnywhere) {
  Policy policy;
  policy.redact_columns = {"password_hash", "api_key"};
  for (const char* sql :
       {"SELECT password_hash FROM tickets.users", "SELECT u.PASSWORD_HASH FROM tickets.users u",
        "SELECT id FROM tickets.users WHERE password_hash LIKE '$2b%'",
        "SELECT id FROM tickets.users ORDER BY \"API_KEY\"", "SELECT (u).api_key FROM tickets.users u"}) {
    auto v = validate(sql, policy);
    ASSERT_FALSE(v.ok()) << sql;
    EXPECT_EQ(v.error().rule, "sensitive_column") << sql;
  }
  EXPECT_TRUE(validate("SELECT id, email FROM tickets.users", policy).ok());
  EXPECT_TRUE(validate("SELECT 'password_hash' AS label", policy).ok());
  EXPECT_TRUE(is_redacted_column(policy, "Password_Hash"));
  EXPECT_FALSE(is_redacted_column(policy, "email"));
}

TEST(Guard, SchemasAreEnforcedOnlyWhenAsked) {
  Policy open;
  open.enforce_schemas = false;
  EXPECT_TRUE(validate("SELECT * FROM secret_stuff.keys", open).ok());
  auto v = validate("WITH recent AS (SELECT 1) SELECT * FROM recent, devices, tracksolid.positions");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->unqualified_relations, std::vector<std::string>{"devices"});  // the CTE is not a relation
  EXPECT_EQ(v->kind, StatementKind::Select);
  EXPECT_EQ(validate("EXPLAIN SELECT 1")->kind, StatementKind::Explain);
  EXPECT_EQ(validate("SHOW TimeZone")->kind, StatementKind::Show);
}

// Every way of calling a function is a call, judged by the catalog (offline:
// PostgreSQL 15's built-ins).
TEST(Guard, EveryCallFormIsJudgedByTheCatalog) {
  const Case cases[] = {
      {"SELECT (pid).pg_terminate_backend FROM pg_stat_activity", "denied_function"},
      {"SELECT (42::bigint).pg_advisory_lock", "denied_function"},
      {"SELECT x.pg_terminate_backend FROM (SELECT 1 AS x) s", "denied_function"},
      {"SELECT ts_rewrite('a'::tsquery, 'SELECT q FROM t')", "volatile_function"},
      {"SELECT ts_rewrite('a'::tsquery, 'a'::tsquery, 'b'::tsquery)", nullptr},
      {"SELECT table_to_xml('tickets.users', true, true, '')", "denied_function"},
      {"SELECT * FROM generate_series(1, 3) g WHERE g > random()", nullptr},
      {"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM (VALUES (1)) v(x)", nullptr},
      {"SELECT count(*), length('x'), now(), upper(name) FROM tracksolid.devices", nullptr},
      {"SELECT txid_current()", "denied_function"},
      {"SELECT setseed(0.5)", "denied_function"},
      {"SELECT pg_catalog.pg_reload_conf()", "volatile_function"},
      {"SELECT nextval('s')", "volatile_function"},
      {"SELECT 1 OPERATOR(secret_stuff.+) 2", "schema_not_readable"},
      {"SELECT current_setting('app.jwt_secret')", "secret_setting"},
      {"SELECT current_setting(name) FROM (VALUES ('TimeZone')) s(name)", "secret_setting"},
      {"SELECT current_setting('TimeZone'), current_setting('search_path', true)", nullptr},
      {"SELECT ('app.jwt_secret'::text).current_setting", "secret_setting"},
      {"SELECT current_setting('search_path'::text)", nullptr},
      {"SELECT current_setting('app.jwt_secret'::text)", "secret_setting"},
      {"SELECT (WITH pg_settings AS (SELECT 1) SELECT 1), name FROM pg_settings", "secret_catalog"},
      {"SELECT pid, mode FROM pg_locks", "secret_catalog"},
      {"SELECT s.current_setting FROM unnest(ARRAY['app.jwt_secret']) s", "secret_setting"},
      {"SELECT (s).pg_stat_get_backend_pid FROM pg_stat_get_backend_idset() s", "denied_function"},
      {"SHOW app.jwt_secret", "secret_setting"},
      {"SHOW server_version", nullptr},
      {"SELECT * FROM pg_settings", "secret_catalog"},
      {"SELECT * FROM pg_catalog.pg_db_role_setting", "secret_catalog"},
      {"SELECT * FROM pg_stats WHERE attname = 'password_hash'", "secret_catalog"},
      {"SELECT * FROM (SELECT * FROM pg_roles) r", "secret_catalog"},
      // PostgreSQL 16's grammar.
      {"SELECT JSON_OBJECT('a' VALUE 1), JSON_ARRAY(1, 2), '{}' IS JSON OBJECT", nullptr},
      {"SELECT JSON_ARRAYAGG(x ORDER BY x), JSON_OBJECTAGG(k VALUE x) FROM (VALUES ('a', 1)) v(k, x)", nullptr},
      {"SELECT 0x1F, 0o17, 0b101, 1_000_000", nullptr},
  };
  expect_verdicts(cases, {});
}

// A live catalog: tickets.users holds a sensitive column; one volatile
// operator; a cast to a type whose input function writes.
struct LiveCatalog : ::testing::Test {
  catalog::Store store;
  Policy policy;
  void SetUp() override {
    auto c = std::make_shared<catalog::Catalog>(*catalog::builtin());
    c->live = true;
    c->sensitive_relations["users"].push_back({"tickets", {"id", "email", "name", "password_hash"}});
    c->sensitive_attributes.insert((std::uint64_t{16500} << 16) | 4);
    catalog::Function op{"reporting", "bump", "integer, integer", 2, 0, false, catalog::Volatility::Volatile,
                         "plpgsql"};
    c->operators["#%#"].push_back({"public", op});
    catalog::Function in{"reporting", "evil_in", "cstring", 1, 0, false, catalog::Volatility::Volatile, "c"};
    c->type_functions["evil"].push_back(in);
    catalog::Function stable{"reporting", "fn_points", "text", 1, 0, false, catalog::Volatility::Stable, "sql"};
    c->add_function(stable);
    catalog::Function ext{"public", "st_distance", "geometry, geometry", 2, 0, false, catalog::Volatility::Immutable,
                          "c",      true};
    c->add_function(ext);
    catalog::Function own{"public", "my_helper", "text", 1, 0, false, catalog::Volatility::Immutable, "sql"};
    c->add_function(own);
    store.replace(c);
    policy.redact_columns = {"password_hash"};
    policy.catalog = &store;
  }
};

TEST_F(LiveCatalog, WholeRowsRenamesAndFunctionalNotationOfSensitiveRelations) {
  const Case cases[] = {
      {"SELECT t FROM tickets.users t", "whole_row"},
      {"SELECT to_jsonb(u) FROM tickets.users u", "whole_row"},
      {"SELECT row_to_json(u)->>'x' FROM tickets.users u", "whole_row"},
      {"SELECT (u.*)::text::int FROM tickets.users u", "whole_row"},
      {"SELECT ROW(u.*) FROM tickets.users u", "whole_row"},
      {"SELECT u.row_to_json FROM tickets.users u", "whole_row"},
      {"SELECT password_hash(u) FROM tickets.users u", "sensitive_column"},
      {"SELECT x FROM (SELECT * FROM tickets.users) s", nullptr},
      {"SELECT s FROM (SELECT * FROM tickets.users) s", "whole_row"},
      {"WITH c AS (SELECT * FROM tickets.users) SELECT json_agg(c) FROM c", "whole_row"},
      {"SELECT (SELECT array_agg(x) FROM (SELECT users FROM tickets.users) x)", "whole_row"},
      {"SELECT * FROM tickets.users AS u(a, b, c, d)", "sensitive_rename"},
      {"SELECT e FROM (SELECT * FROM tickets.users) AS s(a, b, c, e)", "sensitive_rename"},
      {"WITH c(a, b, c, d) AS (SELECT * FROM tickets.users) SELECT d FROM c", "sensitive_rename"},
      // Legitimate reads of the same table keep passing.
      {"SELECT * FROM tickets.users", nullptr},
      {"SELECT u.* FROM tickets.users u", nullptr},
      {"SELECT u.id, u.name, length(u.email), upper(u.name) FROM tickets.users u", nullptr},
      {"SELECT count(*) FROM tickets.users u JOIN (VALUES (1, 'a')) v(id, label) USING (id)", nullptr},
      {"SELECT d FROM tracksolid.devices d", nullptr},
      {"SELECT to_jsonb(d) FROM tracksolid.devices d", nullptr},
  };
  expect_verdicts(cases, policy);
}

TEST_F(LiveCatalog, OperatorsCastsSchemasAndUnknownFunctions) {
  const Case cases[] = {
      {"SELECT 1 #%# 2", "volatile_function"},
      {"SELECT 'x'::evil", "volatile_function"},
      {"SELECT 'x'::public.evil", "volatile_function"},
      {"SELECT reporting.fn_points('x')", nullptr},
      {"SELECT st_distance(a, b) FROM tracksolid.devices", nullptr},  // an extension's, wherever it lives
      {"SELECT my_helper('x')", "schema_not_readable"},               // not an extension's, not readable
      {"SELECT no_such_function(1)", "unknown_function"},
      {"SELECT lower('a', 'b')", "unknown_function"},
  };
  expect_verdicts(cases, policy);
  auto v = validate("SELECT ts_rewrite('a'::tsquery, 'SELECT 1')", policy);
  ASSERT_FALSE(v.ok());
  // The rejection names the function, its volatility and the rule.
  EXPECT_NE(v.error().message.find("pg_catalog.ts_rewrite(tsquery, text)"), std::string::npos) << v.error().message;
  EXPECT_NE(v.error().message.find("volatile"), std::string::npos);
  EXPECT_TRUE(is_redacted_column(policy, *store.current(), "x", 16500, 4));
  EXPECT_FALSE(is_redacted_column(policy, *store.current(), "x", 16500, 3));
}

TEST(Guard, TooDeepANestingIsSaidSo) {
  std::string sql = "SELECT 1";
  for (int i = 0; i < 700; ++i) sql += "+1";
  auto v = validate(sql);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().rule, "parse_error");
  EXPECT_NE(v.error().message.find("nests too deeply"), std::string::npos) << v.error().message;
}

TEST(Guard, ANestingJustUnderTheBoundIsJudgedInFull) {
  // 250 unary operators: about 500 levels of parse tree, each a level of the
  // walk's recursion (a fuzzer found a stack overflow here).
  auto v = validate("SELECT " + std::string(250, '+') + "1");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_FALSE(validate("SELECT " + std::string(250, '+') + "pg_terminate_backend(1)::int").ok());
}

// Bounds on the text before libpg_query sees it (an outside review crashed the
// server with `1+1+...` 100,000 times, and spent 98 s on `/*` 120,000 times).
TEST(Guard, ALongChainOrManyCommentOpeningsAreRefusedBeforeParsing) {
  std::string chain = "SELECT 1";
  for (int i = 0; i < 32000; ++i) chain += "+1";  // 64,008 bytes: the longest that is judged
  auto v = validate(chain);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().rule, "parse_error") << v.error().message;  // too deep for the walk, and no crash
  chain += std::string(2000, ' ');                                // past 65,536 bytes
  v = validate(chain + "+1");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().rule, "too_large");
  EXPECT_NE(v.error().message.find("statements up to 65536 bytes are judged"), std::string::npos) << v.error().message;
  std::string comments = "SELECT 1 ";
  for (int i = 0; i < 1001; ++i) comments += "/*";
  v = validate(comments);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().rule, "too_large");
  // A thousand comments, each closed, are fine.
  std::string fine = "SELECT 1";
  for (int i = 0; i < 1000; ++i) fine += " /* c */";
  EXPECT_TRUE(validate(fine).ok());
}

TEST(Guard, TheServerNeverJudgesByLessThanTheLiveCatalog) {
  catalog::Store store;  // holds only the built-ins until a load replaces them
  Policy policy;
  policy.catalog = &store;
  auto v = validate("SELECT 1", policy);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().kind, core::ErrorKind::Unavailable);
}

TEST(Guard, QuotesIdentifiers) {
  EXPECT_EQ(quote_identifier("plain"), "\"plain\"");
  EXPECT_EQ(quote_identifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(quote_identifier("x\"; DROP TABLE y; --"), "\"x\"\"; DROP TABLE y; --\"");
}

TEST(Guard, CaretPointsAtTheCharacter) {
  EXPECT_EQ(caret_excerpt("SELECT 1;\nDELETE FROM x", 11), "DELETE FROM x\n^");
  EXPECT_EQ(caret_excerpt("SELECT * FROM nope", 15), "SELECT * FROM nope\n              ^");
  EXPECT_EQ(caret_excerpt("SELECT 'é', bad", 13), "SELECT 'é', bad\n            ^");
}

}  // namespace
}  // namespace fleetmcp::sql
