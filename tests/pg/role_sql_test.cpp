// The role DDL that `fleetmcp role-sql` generates, applied to the real cluster:
// as that role, writes fail, excluded columns cannot be read even through a
// whole-row reference, and everything else reads. PostgreSQL itself is asked,
// through plain libpq connections that bypass fleetmcp's guard.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

std::string role_url(const std::string& role, const std::string& password) {
  std::string url = cluster().admin_url;
  const auto at = url.find('@');
  return "postgresql://" + role + ":" + password + url.substr(at);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The SQLSTATE PostgreSQL answers `sql` with on a fresh connection to `url`
// ("" when it succeeds): a failed statement cannot poison the next one.
std::string sqlstate_of(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string err = PQerrorMessage(conn);
    PQfinish(conn);
    return "connect failed: " + err;
  }
  PGresult* r = PQexec(conn, sql.c_str());
  const auto status = PQresultStatus(r);
  const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  std::string out = (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) ? "" : (code ? code : "?");
  PQclear(r);
  PQfinish(conn);
  return out;
}

// The statements that read tickets.users' sensitive columns without naming
// them, or by name: the grants must refuse every one.
const std::vector<std::string> kSensitiveReads = {"SELECT to_jsonb(u) FROM tickets.users u",
                                                  "SELECT u FROM tickets.users u",
                                                  "SELECT password_hash FROM tickets.users",
                                                  "SELECT row_to_json(u) FROM tickets.users u",
                                                  "SELECT * FROM tickets.users",
                                                  "SELECT u::text FROM tickets.users u",
                                                  "SELECT x FROM (SELECT * FROM tickets.users) s(a, b, c, d, e, x)"};

// Runs fleetmcp with a clean environment (the default configuration), stdout
// to `out`, stderr to `err`; returns the exit status.
int run_fleetmcp(const std::string& arguments, const std::string& out, const std::string& err = "/dev/null") {
  const std::string command =
      "env -i PATH=\"$PATH\" " + std::string(FLEETMCP_BINARY) + " " + arguments + " > " + out + " 2> " + err;
  return std::system(command.c_str());
}

void apply(const std::string& file, const std::string& password) {
  const std::string command = "psql -X -q -v ON_ERROR_STOP=1 -v ro_pw=" + password + " -d '" + cluster().admin_url +
                              "' -f " + file + " > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

// Changes grants under the role script's own lock: they rewrite the same ACLs
// a concurrent application of the script grants on ("tuple concurrently updated").
void admin_locked(const std::string& sql) {
  Admin admin;
  admin.exec("BEGIN; SELECT pg_advisory_xact_lock(hashtext('fleetmcp role-sql')); " + sql + "; COMMIT");
}

void drop_role(const std::string& role) { admin_locked("DROP OWNED BY " + role + "; DROP ROLE " + role); }

// What `role` may read, as PostgreSQL reports it: table- and column-level
// SELECT grants and has_table_privilege on every relation of the fixture.
std::string grants_of(const std::string& role) {
  Admin admin;
  return admin.scalar(
      "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ("
      " SELECT 'table ' || table_schema || '.' || table_name || ' ' || privilege_type AS x"
      "  FROM information_schema.role_table_grants WHERE grantee = '" +
      role +
      "'"
      " UNION ALL SELECT 'column ' || table_schema || '.' || table_name || '.' || column_name || ' ' || privilege_type"
      "  FROM information_schema.column_privileges WHERE grantee = '" +
      role +
      "'"
      " UNION ALL SELECT 'has ' || c.oid::regclass::text || ' ' || has_table_privilege('" +
      role +
      "', c.oid, 'SELECT')"
      "  FROM pg_class c WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')"
      "   AND c.relnamespace::regnamespace::text IN ('reporting', 'tracksolid', 'tickets', 'fuel', 'secret_stuff')"
      ") g");
}

TEST(RoleSql, ColumnGrantsKeepSensitiveColumnsUnreadable) {
  const std::string role = "fleet_cols_" + std::to_string(getpid());
  const std::string password = "role-sql-test-pw";
  const std::string file = "/tmp/" + role + ".sql";
  ASSERT_EQ(run_fleetmcp("role-sql --role " + role, file), 0);
  apply(file, password);
  const std::string once = grants_of(role);
  // A whole-table grant from an earlier, wider script is narrowed again.
  admin_locked("GRANT SELECT ON tickets.users TO " + role);
  apply(file, password);
  EXPECT_EQ(grants_of(role), once) << "re-applying must never widen a grant";

  const std::string url = role_url(role, password);
  Admin as_role(url);
  EXPECT_EQ(as_role.scalar("SELECT count(*) FROM tracksolid.positions"), "3000");
  EXPECT_EQ(as_role.scalar("SELECT email FROM tickets.users ORDER BY id LIMIT 1"), "admin@example.com");
  EXPECT_EQ(as_role.scalar("SELECT count(*) FROM tickets.users"), "2");
  EXPECT_EQ(as_role.scalar("SELECT reporting.fn_points('860000000000001')"), "1000");
  EXPECT_EQ(as_role.scalar("SHOW default_transaction_read_only"), "on");
  for (const auto& sql : kSensitiveReads) EXPECT_EQ(sqlstate_of(url, sql), "42501") << sql;
  EXPECT_EQ(sqlstate_of(url, "SELECT * FROM secret_stuff.keys"), "42501");
  // Even in an explicit read-write transaction (past the read-only default), the grants refuse.
  EXPECT_EQ(sqlstate_of(url, "CREATE TABLE tickets.x (i int)"), "25006");  // read-only transaction
  for (const char* sql :
       {"BEGIN READ WRITE; CREATE TABLE tickets.x (i int); COMMIT", "BEGIN READ WRITE; DELETE FROM tickets.inc; COMMIT",
        "BEGIN READ WRITE; UPDATE reporting.refresh_log SET notes = 'x'; COMMIT",
        "BEGIN READ WRITE; REFRESH MATERIALIZED VIEW reporting.v_trips; COMMIT"})
    EXPECT_EQ(sqlstate_of(url, sql), "42501") << sql;  // must be owner: 42501 too

  drop_role(role);
  std::remove(file.c_str());
}

TEST(RoleSql, TheShippedScriptIsTheGeneratedOne) {
  const std::string out = "/tmp/fleetmcp-role-" + std::to_string(getpid()) + ".sql";
  ASSERT_EQ(run_fleetmcp("role-sql", out), 0);
  const std::string generated = read_file(out);
  std::remove(out.c_str());
  EXPECT_EQ(generated, read_file(FLEETMCP_ROLE_SCRIPT))
      << "regenerate: env -i build/release/fleetmcp role-sql > scripts/analytics_ro_role.sql";
  EXPECT_NE(generated.find("'password_hash', "), std::string::npos);
  EXPECT_EQ(generated.find("WARNING"), std::string::npos);
}

// The harness created analytics_ro with scripts/analytics_ro_role.sql: the role
// fleetmcp runs as in every test cannot read tickets.users' secrets either.
TEST(RoleSql, TheShippedRoleRefusesSensitiveColumns) {
  const std::string& url = cluster().database_url;
  for (const auto& sql : kSensitiveReads) EXPECT_EQ(sqlstate_of(url, sql), "42501") << sql;
  EXPECT_EQ(sqlstate_of(url, "SELECT id, email FROM tickets.users"), "");
  EXPECT_EQ(sqlstate_of(url, "SELECT first_name, last_name, is_super_admin FROM tickets.users"), "");
  EXPECT_EQ(sqlstate_of(url, "SELECT * FROM tickets.inc"), "");
}

// The bootstrap applies the same grants, from the shipped script or from the
// binary, and running it again changes nothing.
TEST(RoleSql, BootstrapTwiceLeavesTheGrantsUnchanged) {
  const std::string before = grants_of("analytics_ro");
  ASSERT_NE(before.find("column tickets.users.email SELECT"), std::string::npos) << before;
  ASSERT_EQ(before.find("column tickets.users.password_hash"), std::string::npos) << before;
  ASSERT_NE(before.find("has tickets.users false"), std::string::npos) << before;
  // The harness role's own password, so the role keeps working for the other tests.
  const std::string url = cluster().database_url;
  const auto colon = url.find(':', std::string("postgresql://").size());
  const std::string password = url.substr(colon + 1, url.find('@') - colon - 1);
  const std::string pw_file = "/tmp/fleetmcp-bootstrap-" + std::to_string(getpid()) + ".pw";
  {
    std::ofstream pw(pw_file);
    pw << password << "\n";
  }
  ::chmod(pw_file.c_str(), 0600);
  const std::string script = std::string(FLEETMCP_ROLE_SCRIPT);
  const std::string bootstrap = script.substr(0, script.rfind('/')) + "/bootstrap_analytics_ro.sh --dsn '" +
                                cluster().admin_url + "' --pw-file " + pw_file;
  for (const std::string& source : {"--sql " + script, "--fleetmcp " + std::string(FLEETMCP_BINARY)}) {
    const std::string command = "env -i PATH=\"$PATH\" HOME=/tmp " + bootstrap + " " + source + " > /dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    EXPECT_EQ(grants_of("analytics_ro"), before) << source;
  }
  std::remove(pw_file.c_str());
  // The bootstrap sent a verifier it computed; the password still logs in.
  Admin admin;
  EXPECT_EQ(admin.scalar("SELECT left(rolpassword, 19) FROM pg_authid WHERE rolname = 'analytics_ro'"),
            "SCRAM-SHA-256$4096:");
  EXPECT_EQ(Admin(role_url("analytics_ro", password)).scalar("SELECT current_user"), "analytics_ro");
  for (const auto& sql : kSensitiveReads) EXPECT_EQ(sqlstate_of(url, sql), "42501") << sql;
  EXPECT_EQ(sqlstate_of(url, "SELECT id, email FROM tickets.users"), "");
}

// The opt-out is loud, and fleetmcp's own layers still hide the columns.
TEST(RoleSql, WholeTableGrantsWarnAndTheServerStillRedacts) {
  const std::string role = "fleet_whole_" + std::to_string(getpid());
  const std::string password = "role-sql-test-pw";
  const std::string file = "/tmp/" + role + ".sql", err = "/tmp/" + role + ".err";
  ASSERT_EQ(run_fleetmcp("role-sql --whole-table-grants --role " + role, file, err), 0);
  EXPECT_NE(read_file(err).find("WARNING: --whole-table-grants"), std::string::npos) << read_file(err);
  EXPECT_NE(read_file(file).find("-- WARNING: whole-table grants"), std::string::npos);
  EXPECT_NE(read_file(file).find("ARE READABLE"), std::string::npos);
  apply(file, password);
  const std::string url = role_url(role, password);
  EXPECT_EQ(sqlstate_of(url, "SELECT password_hash FROM tickets.users"), "");  // what the warning says

  TestServer server([&](config::Config& c) { c.database_url = url; });
  json r = server.call_tool("query", {{"sql", "SELECT * FROM tickets.users ORDER BY id"}});
  ASSERT_EQ(r["isError"], false) << r.dump();
  EXPECT_EQ(r["structuredContent"]["redacted_columns"], json::array({"password_hash", "api_key"}));
  EXPECT_FALSE(r["structuredContent"]["rows"][0].contains("password_hash"));
  json sample = server.call_tool("sample_table", {{"schema", "tickets"}, {"table", "users"}});
  ASSERT_EQ(sample["isError"], false) << sample.dump();
  EXPECT_EQ(sample["structuredContent"]["redacted_columns"], json::array({"password_hash", "api_key"}));
  EXPECT_FALSE(sample["structuredContent"]["rows"][0].contains("api_key"));

  drop_role(role);
  std::remove(file.c_str());
  std::remove(err.c_str());
}

}  // namespace
}  // namespace fleetmcp::testing
