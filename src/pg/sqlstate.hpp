// Decides, in one place, whether a failure means the connection is dead (discard
// it, maybe retry) or the statement failed on a healthy connection (keep it).
#pragma once

#include <string_view>

namespace fleetmcp::pg {

// Class 08 (connection exception) and 57P0x (57P01 admin shutdown, 57P02 crash
// shutdown, 57P03 cannot connect now, 57P04 database dropped, 57P05
// idle_session_timeout) mean the backend is gone. 57014 (query_canceled, e.g.
// statement_timeout) is NOT one: that connection is still usable.
inline bool is_disconnect_sqlstate(std::string_view sqlstate) {
  return sqlstate.substr(0, 2) == "08" || (sqlstate.size() == 5 && sqlstate.substr(0, 4) == "57P0");
}

// A FATAL or PANIC error ends the session whatever its SQLSTATE (25P03
// idle_in_transaction_session_timeout, a pooler's own errors): the connection
// is gone too. `severity` is the untranslated one (PG_DIAG_SEVERITY_NONLOCALIZED).
inline bool is_session_ending_severity(std::string_view severity) {
  return severity == "FATAL" || severity == "PANIC";
}

inline constexpr std::string_view kQueryCanceled = "57014";

}  // namespace fleetmcp::pg
