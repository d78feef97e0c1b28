// The role DDL that `fleetmcp role-sql` generates, applied to the real cluster:
// as that role, writes fail, excluded columns cannot be read even through a
// whole-row reference, and everything else reads.
#include <gtest/gtest.h>

#include <fstream>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

std::string role_url(const std::string& role, const std::string& password) {
  std::string url = cluster().admin_url;
  const auto at = url.find('@');
  return "postgresql://" + role + ":" + password + url.substr(at);
}

TEST(RoleSql, ColumnGrantsKeepSensitiveColumnsUnreadable) {
  const std::string role = "fleet_cols_" + std::to_string(getpid());
  const std::string password = "role-sql-test-pw";
  const std::string file = "/tmp/" + role + ".sql";
  const std::string generate = std::string(FLEETMCP_BINARY) + " role-sql --role " + role + " > " + file;
  ASSERT_EQ(std::system(generate.c_str()), 0);
  const std::string apply = "psql -X -q -v ON_ERROR_STOP=1 -v ro_pw=" + password + " -d '" +
                            cluster().admin_url + "' -f " + file + " > /dev/null";
  ASSERT_EQ(std::system(apply.c_str()), 0);
  ASSERT_EQ(std::system(apply.c_str()), 0) << "applying twice must work (idempotent)";

  Admin as_role(role_url(role, password));
  EXPECT_EQ(as_role.scalar("SELECT count(*) FROM tracksolid.positions"), "3000");
  EXPECT_EQ(as_role.scalar("SELECT email FROM tickets.users ORDER BY id LIMIT 1"), "admin@example.com");
  EXPECT_EQ(as_role.scalar("SELECT reporting.fn_points('860000000000001')"), "1000");
  EXPECT_EQ(as_role.scalar("SHOW default_transaction_read_only"), "on");
  auto refused = [&](const std::string& sql) {
    try {
      Admin fresh(role_url(role, password));  // a failed BEGIN would poison a shared session
      fresh.exec(sql);
      return std::string("succeeded");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  };
  for (const char* sql : {"SELECT password_hash FROM tickets.users", "SELECT row_to_json(u) FROM tickets.users u",
                          "SELECT * FROM tickets.users", "SELECT * FROM secret_stuff.keys"})
    EXPECT_NE(refused(sql).find("permission denied"), std::string::npos) << sql << ": " << refused(sql);
  // Even in an explicit read-write transaction (past the read-only default), the grants refuse.
  EXPECT_NE(refused("CREATE TABLE tickets.x (i int)").find("read-only transaction"), std::string::npos);
  for (const auto& [sql, why] : std::vector<std::pair<const char*, const char*>>{
           {"BEGIN READ WRITE; CREATE TABLE tickets.x (i int); COMMIT", "permission denied"},
           {"BEGIN READ WRITE; DELETE FROM tickets.inc; COMMIT", "permission denied"},
           {"BEGIN READ WRITE; UPDATE reporting.refresh_log SET notes = 'x'; COMMIT", "permission denied"},
           {"BEGIN READ WRITE; REFRESH MATERIALIZED VIEW reporting.v_trips; COMMIT", "must be owner"}})
    EXPECT_NE(refused(sql).find(why), std::string::npos) << sql << ": " << refused(sql);

  Admin admin;
  admin.exec("DROP OWNED BY " + role + "; DROP ROLE " + role);
  std::remove(file.c_str());
}

TEST(RoleSql, TheShippedScriptIsTheGeneratedOne) {
  std::ifstream shipped(FLEETMCP_ROLE_SCRIPT);
  const std::string expected((std::istreambuf_iterator<char>(shipped)), std::istreambuf_iterator<char>());
  const std::string out = "/tmp/fleetmcp-role-" + std::to_string(getpid()) + ".sql";
  ASSERT_EQ(std::system((std::string(FLEETMCP_BINARY) + " role-sql --no-exclude-columns > " + out).c_str()), 0);
  std::ifstream generated(out);
  const std::string actual((std::istreambuf_iterator<char>(generated)), std::istreambuf_iterator<char>());
  std::remove(out.c_str());
  EXPECT_EQ(actual, expected) << "regenerate: fleetmcp role-sql --no-exclude-columns > scripts/analytics_ro_role.sql";
}

}  // namespace
}  // namespace fleetmcp::testing
