#include "pg/sqlstate.hpp"

#include <gtest/gtest.h>

namespace fleetmcp::pg {
namespace {

TEST(SqlState, OnlyConnectionLossMeansDiscard) {
  // Connection exceptions and shutdowns: the backend is gone.
  for (const char* s : {"08000", "08003", "08006", "08001", "08004", "08P01", "57P01", "57P02", "57P03", "57P04",
                        "57P05"})
    EXPECT_TRUE(is_disconnect_sqlstate(s)) << s;
  // Errors of a statement on a healthy connection: keep it. 57014 is
  // statement_timeout or our own cancel.
  for (const char* s : {"57014", "57000", "57P", "57P0", "42P01", "42703", "22012", "25006", "42501", "40001",
                        "53300", "XX000", ""})
    EXPECT_FALSE(is_disconnect_sqlstate(s)) << s;
}

TEST(SqlState, AFatalErrorEndsTheSession) {
  EXPECT_TRUE(is_session_ending_severity("FATAL"));
  EXPECT_TRUE(is_session_ending_severity("PANIC"));
  for (const char* s : {"ERROR", "WARNING", "NOTICE", "", "fatal"}) EXPECT_FALSE(is_session_ending_severity(s)) << s;
}

}  // namespace
}  // namespace fleetmcp::pg
