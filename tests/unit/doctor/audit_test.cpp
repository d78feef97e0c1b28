// The self-audit's pure half: rows -> findings (severity, grouping) -> table.
#include "doctor/audit.hpp"

#include <gtest/gtest.h>

namespace fleetmcp::doctor {
namespace {

TEST(DoctorFindings, EachKindGetsItsSeverity) {
  struct Case {
    const char* kind;
    Severity severity;
  };
  const Case cases[] = {
      {"superuser", Severity::Unsafe},
      {"replication", Severity::Unsafe},
      {"createrole", Severity::Unsafe},
      {"createdb", Severity::Unsafe},
      {"bypassrls", Severity::Warning},
      {"pg_write_server_files", Severity::Unsafe},
      {"pg_execute_server_program", Severity::Unsafe},
      {"pg_write_all_data", Severity::Unsafe},
      {"pg_read_server_files", Severity::Warning},
      {"pg_read_all_data", Severity::Warning},
      {"pg_signal_backend", Severity::Warning},
      {"pg_monitor", Severity::Warning},
      {"pg_read_all_settings", Severity::Warning},
      {"pg_read_all_stats", Severity::Warning},
      {"table_write", Severity::Unsafe},
      {"sequence_write", Severity::Unsafe},
      {"schema_create", Severity::Unsafe},
      {"database_create", Severity::Unsafe},
      {"database_temporary", Severity::Warning},
      {"sensitive_column", Severity::Warning},
      {"schema_unreadable", Severity::Warning},
      {"something_new", Severity::Unsafe},  // a check we cannot name is not a pass
  };
  for (const auto& c : cases) {
    auto found = findings_from_rows({{c.kind, ""}});
    ASSERT_EQ(found.size(), 1u) << c.kind;
    EXPECT_EQ(found[0].severity, c.severity) << c.kind;
    EXPECT_EQ(found[0].kind, c.kind);
    EXPECT_FALSE(found[0].why.empty()) << c.kind;
  }
}

TEST(DoctorFindings, RowsOfOneKindAreOneFindingListingAFewObjectsUnsafeFirst) {
  std::vector<Row> rows = {{"database_temporary", "db"}};
  for (int i = 1; i <= 7; ++i) rows.push_back({"table_write", "s.t" + std::to_string(i) + " (INSERT)"});
  rows.push_back({"pg_signal_backend", ""});
  auto found = findings_from_rows(rows);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].kind, "table_write");
  EXPECT_EQ(found[0].what,
            "can write relations: s.t1 (INSERT), s.t2 (INSERT), s.t3 (INSERT), s.t4 (INSERT), "
            "s.t5 (INSERT) and 2 more");
  EXPECT_EQ(found[1].what, "TEMPORARY on database: db");
  EXPECT_EQ(found[2].what, "member of pg_signal_backend");
}

TEST(DoctorRender, NoFindingsIsOneLine) {
  Report r{"ro", "fleet", {}};
  EXPECT_EQ(render_table(r), "Self-audit of role \"ro\" on database \"fleet\": no findings (read-only grants only)\n");
  EXPECT_FALSE(r.unsafe());
}

TEST(DoctorRender, TableWrapsColumnsAndCounts) {
  Report r{"ro", "fleet", findings_from_rows({{"superuser", ""}, {"sensitive_column", "tickets.users.api_key"}})};
  EXPECT_TRUE(r.unsafe());
  EXPECT_EQ(
      render_table(r),
      "Self-audit of role \"ro\" on database \"fleet\": 2 findings (1 unsafe, 1 warning)\n"
      "  SEVERITY  FINDING                                         WHY IT MATTERS\n"
      "  unsafe    superuser                                       bypasses every permission check: can write "
      "anything, read\n"
      "                                                            files, run programs\n"
      "  warning   SELECT on sensitive columns:                    only the SQL guard keeps them out, not the "
      "database: give\n"
      "            tickets.users.api_key                           the role column-level grants (fleetmcp role-sql)\n");
}

TEST(DoctorRender, RefusalNamesEveryUnsafeFindingAndTheWaysOut) {
  Report r{"ro", "fleet",
           findings_from_rows(
               {{"table_write", "tickets.inc (INSERT)"}, {"pg_signal_backend", ""}, {"schema_create", "public"}})};
  EXPECT_EQ(refusal_message(r),
            "the database role \"ro\" can write or administer the database (can write relations: tickets.inc "
            "(INSERT); CREATE on schemas: public); give it read-only grants (fleetmcp role-sql), or set "
            "MCP_ALLOW_UNSAFE_ROLE=true to serve anyway");
  EXPECT_EQ(warning_lines(r),
            (std::vector<std::string>{"unsafe: can write relations: tickets.inc (INSERT)",
                                      "unsafe: CREATE on schemas: public", "warning: member of pg_signal_backend"}));
}

}  // namespace
}  // namespace fleetmcp::doctor
