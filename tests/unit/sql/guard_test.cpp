#include "sql/guard.hpp"

#include <gtest/gtest.h>

namespace fleetmcp::sql {
namespace {

struct Case {
  const char* sql;
  const char* rule;  // nullptr: allowed
};

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
      {"SELECT pg_advisory_xact_lock(1)", nullptr},
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
      {"EXPLAIN ANALYZE SELECT 1", "explain_analyze"},
      {"EXPLAIN (FORMAT JSON, ANALYZE) SELECT 1", "explain_analyze"},
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
      {"SELECT * FROM tickets.inc WHERE id = (SELECT nextval('s'))", "denied_function"},
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
  for (const char* sql : {"SELECT password_hash FROM tickets.users",
                          "SELECT u.PASSWORD_HASH FROM tickets.users u",
                          "SELECT id FROM tickets.users WHERE password_hash LIKE '$2b%'",
                          "SELECT id FROM tickets.users ORDER BY \"API_KEY\"",
                          "SELECT (u).api_key FROM tickets.users u"}) {
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
