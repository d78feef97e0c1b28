#include "pg/sqlstate.hpp"

#include <gtest/gtest.h>

namespace fleetmcp::pg {
namespace {

TEST(SqlState, OnlyConnectionLossMeansDiscard) {
  // Connection exceptions and shutdowns: the backend is gone.
  for (const char* s :
       {"08000", "08003", "08006", "08001", "08004", "08P01", "57P01", "57P02", "57P03", "57P04", "57P05"})
    EXPECT_TRUE(is_disconnect_sqlstate(s)) << s;
  // Errors of a statement on a healthy connection: keep it. 57014 is
  // statement_timeout or our own cancel.
  for (const char* s :
       {"57014", "57000", "57P", "57P0", "42P01", "42703", "22012", "25006", "42501", "40001", "53300", "XX000", ""})
    EXPECT_FALSE(is_disconnect_sqlstate(s)) << s;
}

// libpq's texts (PostgreSQL 15) for refusals that last, and for ones that pass.
TEST(SqlState, OnlyLastingLoginRefusalsAreNotRetried) {
  for (const char* m :
       {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user "
        "\"analytics_ro\"",
        "FATAL:  no pg_hba.conf entry for host \"10.0.0.5\", user \"analytics_ro\", database \"fleet\", no encryption",
        "FATAL:  pg_hba.conf rejects connection for host \"10.0.0.5\", user \"analytics_ro\"",
        "FATAL:  role \"analytics_rw\" does not exist", "FATAL:  database \"fleet2\" does not exist",
        "FATAL:  role \"analytics_ro\" is not permitted to log in",
        "FATAL:  permission denied for database \"fleet\"\nDETAIL:  User does not have CONNECT privilege.",
        "fe_sendauth: no password supplied", "FATAL:  Peer authentication failed for user \"analytics_ro\""})
    EXPECT_TRUE(is_lasting_login_refusal(m)) << m;
  for (const char* m : {"FATAL:  the database system is starting up", "FATAL:  the database system is shutting down",
                        "FATAL:  sorry, too many clients already",
                        "FATAL:  remaining connection slots are reserved for non-replication superuser connections",
                        "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused",
                        "could not translate host name \"db\" to address: Temporary failure in name resolution",
                        "server closed the connection unexpectedly", "timeout expired"})
    EXPECT_FALSE(is_lasting_login_refusal(m)) << m;
}

TEST(SqlState, AFatalErrorEndsTheSession) {
  EXPECT_TRUE(is_session_ending_severity("FATAL"));
  EXPECT_TRUE(is_session_ending_severity("PANIC"));
  for (const char* s : {"ERROR", "WARNING", "NOTICE", "", "fatal"}) EXPECT_FALSE(is_session_ending_severity(s)) << s;
}

}  // namespace
}  // namespace fleetmcp::pg
