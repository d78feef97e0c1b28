// The role self-audit against real roles: throwaway roles, each given one
// dangerous privilege, as the superuser; the real binary refuses the unsafe
// ones at start (exit 2, naming the finding) and serves the rest with the
// finding in its table; MCP_ALLOW_UNSAFE_ROLE=true serves loudly; a role
// found unsafe only after start gets every plan refused; doctor's exit codes.
// The roles connect straight to PostgreSQL (PgBouncer knows only analytics_ro).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

constexpr const char* kPassword = "audit-role-password-1";

// The cluster's own address with another role's credentials.
std::string url_for(const std::string& role, const std::string& database = "tracksolid_db") {
  return "postgresql://" + role + ":" + kPassword + "@127.0.0.1:" + std::to_string(cluster().port) + "/" + database;
}

// A login role that exists for one test; dropped with everything granted to it.
class ThrowawayRole {
 public:
  explicit ThrowawayRole(Admin& admin, const std::string& grants = "") : admin_(admin) {
    static int n = 0;
    name_ = "fleetmcp_audit_" + std::to_string(getpid()) + "_" + std::to_string(++n);
    admin_.exec("CREATE ROLE " + name_ + " LOGIN PASSWORD '" + kPassword + "'");
    std::string sql = grants;
    for (std::size_t at; (at = sql.find("%R")) != std::string::npos;) sql.replace(at, 2, name_);
    if (!sql.empty()) admin_.exec(sql);
  }
  ~ThrowawayRole() {
    try {
      admin_.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + name_ + "'");
      admin_.exec("DROP OWNED BY " + name_ + "; DROP ROLE " + name_);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
  const std::string& name() const { return name_; }
  std::string url() const { return url_for(name_); }

 private:
  Admin& admin_;
  std::string name_;
};

struct PrivilegeCase {
  const char* name;
  const char* grants;   // %R: the role
  const char* finding;  // as the table and the refusal name it
  bool unsafe;
};

const PrivilegeCase kCases[] = {
    {"superuser", "ALTER ROLE %R SUPERUSER", "superuser", true},
    {"insert", "GRANT USAGE ON SCHEMA tickets TO %R; GRANT INSERT ON tickets.inc TO %R",
     "can write relations: tickets.inc (INSERT)", true},
    {"create_on_schema", "GRANT USAGE, CREATE ON SCHEMA reporting TO %R", "CREATE on schemas: reporting", true},
    {"write_server_files", "GRANT pg_write_server_files TO %R", "member of pg_write_server_files", true},
    {"execute_server_program", "GRANT pg_execute_server_program TO %R", "member of pg_execute_server_program", true},
    {"signal_backend", "GRANT pg_signal_backend TO %R", "member of pg_signal_backend", false},
    {"bypassrls", "ALTER ROLE %R BYPASSRLS", "BYPASSRLS attribute", false},
    {"sensitive_column", "GRANT USAGE ON SCHEMA tickets TO %R; GRANT SELECT (id, api_key) ON tickets.users TO %R",
     "SELECT on sensitive columns: tickets.users.api_key", false},
};

TEST(SelfAudit, EachDangerousPrivilegeIsNamedAndTheUnsafeOnesRefusedAtStart) {
  Admin admin;
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    ThrowawayRole role(admin, c.grants);
    Child server({"serve"}, {{"DATABASE_URL", role.url()}});
    if (c.unsafe) {
      EXPECT_EQ(server.wait_exit(), 2) << server.output();
      EXPECT_NE(server.output().find("fleetmcp: refused: the database role \"" + role.name() +
                                     "\" can write or administer the database ("),
                std::string::npos)
          << server.output();
      EXPECT_NE(server.output().find(c.finding), std::string::npos) << server.output();
      EXPECT_EQ(server.output().find("listening"), std::string::npos) << server.output();
    } else {
      // Served, with the table after the "listening" line and the finding in /readyz.
      ASSERT_TRUE(server.read_until("WHY IT MATTERS")) << server.output();
      EXPECT_NE(server.output().find("listening on http://"), std::string::npos) << server.output();
      EXPECT_EQ(server.output().find("refused"), std::string::npos) << server.output();
      auto ready = http_request(server.port(), "GET", "/readyz");
      EXPECT_EQ(ready.status, 200);
      EXPECT_NE(ready.body.find(std::string("\"warning: ") + c.finding), std::string::npos) << ready.body;
    }
  }
}

TEST(SelfAudit, TheHarnessRoleIsServed) {
  Child server({"serve"}, {{"DATABASE_URL", cluster().database_url}});
  ASSERT_TRUE(server.read_until("Self-audit of role \"analytics_ro\"")) << server.output();
  EXPECT_EQ(server.output().find("refused"), std::string::npos) << server.output();
  EXPECT_NE(server.output().find("0 unsafe"), std::string::npos) << server.output();
  auto ready = http_request(server.port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
}

TEST(SelfAudit, AllowUnsafeRoleServesWithTheFindingInReadyzAndInstructions) {
  Admin admin;
  ThrowawayRole role(admin, "GRANT USAGE ON SCHEMA tickets TO %R; GRANT INSERT ON tickets.inc TO %R");
  Child server({"serve"}, {{"DATABASE_URL", role.url()}, {"MCP_ALLOW_UNSAFE_ROLE", "true"}});
  ASSERT_TRUE(server.read_until("MCP_ALLOW_UNSAFE_ROLE=true;")) << server.output();
  EXPECT_NE(server.output().find("fleetmcp: WARNING: serving an unsafe role"), std::string::npos);
  const std::string finding = "unsafe: can write relations: tickets.inc (INSERT)";

  auto ready = http_request(server.port(), "GET", "/readyz");
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.json_body()["ready"], true);
  EXPECT_NE(ready.json_body()["warnings"].dump().find(finding), std::string::npos) << ready.body;

  const std::map<std::string, std::string> headers = {{"Authorization", std::string("Bearer ") + kToken},
                                                      {"Content-Type", "application/json"}};
  json init = initialize_request("2025-11-25");
  auto legacy = http_request(server.port(), "POST", "/mcp", init.dump(), headers);
  ASSERT_EQ(legacy.status, 200) << legacy.body;
  EXPECT_NE(legacy.json_body()["result"]["instructions"].get<std::string>().find(finding), std::string::npos)
      << legacy.body;
}

// The database was unreachable at start, say, so the first plan audits: an
// unsafe role then gets every plan refused while /healthz still answers.
TEST(SelfAudit, ARoleFoundUnsafeAfterStartGetsEveryPlanRefused) {
  Admin admin;
  ThrowawayRole role(admin, "GRANT pg_write_server_files TO %R");
  // No audit at start here; the first plan (the guard's catalog load) audits.
  TestServer server([&](config::Config& c) { c.database_url = role.url(); });
  json r = server.call_tool("query", {{"sql", "SELECT 1 AS one"}});
  EXPECT_EQ(r["isError"], true) << r.dump();
  const std::string text = r["content"][0]["text"];
  EXPECT_EQ(text.rfind("fleetmcp refuses to serve: the database role", 0), 0u) << text;
  EXPECT_NE(text.find("member of pg_write_server_files"), std::string::npos) << text;
  auto ready = http_request(server.port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("member of pg_write_server_files"), std::string::npos) << ready.body;
  EXPECT_EQ(http_request(server.port(), "GET", "/healthz").status, 200);
}

TEST(SelfAudit, DoctorExitCodes) {
  Admin admin;
  // A role with nothing to find: a database of its own without TEMPORARY for
  // PUBLIC, and only its public schema to read (USAGE, no CREATE since PG 15).
  const std::string clean_db =
      "fleetmcp_audit_clean_" + std::to_string(getpid()) + (cluster().through_pooler ? "_p" : "");
  admin.exec("DROP DATABASE IF EXISTS " + clean_db);
  admin.exec("CREATE DATABASE " + clean_db);
  admin.exec("REVOKE TEMPORARY ON DATABASE " + clean_db + " FROM PUBLIC");
  {
    ThrowawayRole clean(admin);
    Child ok({"doctor"}, {{"DATABASE_URL", url_for(clean.name(), clean_db)}, {"MCP_READABLE_SCHEMAS", "public"}}, true);
    EXPECT_EQ(ok.wait_exit(), 0) << ok.output();
    EXPECT_NE(ok.output().find("no findings"), std::string::npos) << ok.output();

    Child warning({"doctor"}, {{"DATABASE_URL", url_for(clean.name(), clean_db)}}, true);  // default schemas: missing
    EXPECT_EQ(warning.wait_exit(), 1) << warning.output();
    EXPECT_NE(warning.output().find("warning   no USAGE on schemas"), std::string::npos) << warning.output();
  }
  admin.exec("DROP DATABASE " + clean_db);

  ThrowawayRole unsafe(admin, "ALTER ROLE %R CREATEROLE");
  Child refused({"doctor"}, {{"DATABASE_URL", unsafe.url()}}, true);
  EXPECT_EQ(refused.wait_exit(), 1) << refused.output();
  EXPECT_NE(refused.output().find("unsafe    CREATEROLE attribute"), std::string::npos) << refused.output();

  Child down({"doctor"}, {{"DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none"}, {"MCP_CONNECT_TIMEOUT_MS", "200"}});
  EXPECT_EQ(down.wait_exit(), 2) << down.output();
  EXPECT_NE(down.output().find("doctor: database unavailable"), std::string::npos) << down.output();

  Child bad({"doctor"}, {{"DATABASE_URL", unsafe.url()}, {"MCP_POOL_MAX", "0"}});
  EXPECT_EQ(bad.wait_exit(), 2) << bad.output();
  EXPECT_NE(bad.output().find("MCP_POOL_MAX"), std::string::npos) << bad.output();
}

}  // namespace
}  // namespace fleetmcp::testing
