// Decides, in one place, whether a failure means the connection is dead (discard
// it, maybe retry) or the statement failed on a healthy connection (keep it).
#pragma once

#include <string_view>

namespace fleetmcp::pg {

// Class 08 (connection exception) and 57P01-57P03 (admin shutdown, crash
// shutdown, cannot connect now) mean the backend is gone. 57014 (query_canceled,
// e.g. statement_timeout) is NOT one: that connection is still usable.
inline bool is_disconnect_sqlstate(std::string_view sqlstate) {
  return sqlstate.substr(0, 2) == "08" || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

inline constexpr std::string_view kQueryCanceled = "57014";

}  // namespace fleetmcp::pg
