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
inline bool is_session_ending_severity(std::string_view severity) { return severity == "FATAL" || severity == "PANIC"; }

inline constexpr std::string_view kQueryCanceled = "57014";
// Errors the server explains to the caller (hints, the next step).
inline constexpr std::string_view kSyntaxError = "42601";
inline constexpr std::string_view kInsufficientPrivilege = "42501";
inline constexpr std::string_view kUndefinedTable = "42P01";
inline constexpr std::string_view kUndefinedColumn = "42703";
inline constexpr std::string_view kUndefinedFunction = "42883";
inline constexpr std::string_view kInvalidParameterValue = "22023";  // e.g. SET ROLE to a role that does not exist

// A refused login that no retry cures until someone changes the password, the
// role, the database or pg_hba.conf. libpq gives no SQLSTATE for a failed
// connection, so its message decides (PostgreSQL's English texts; a server
// with translated messages makes every refusal a passing one, as before).
// Passing refusals (starting up, shutting down, too many clients, connection
// refused, timeouts) are not matched.
inline bool is_lasting_login_refusal(std::string_view libpq_message) {
  for (std::string_view lasting : {
           "password authentication failed",  // 28P01 (also an unknown role, with passwords)
           "no pg_hba.conf entry",            // 28000
           "pg_hba.conf rejects connection",  // 28000
           "\" does not exist",               // 28000 unknown role, 3D000 unknown database
           "is not permitted to log in",      // 28000 NOLOGIN
           "permission denied for database",  // 42501 no CONNECT privilege
           "no password supplied",            // libpq: the server asks for one, none given
           "authentication failed for user",  // ident, peer, cert, GSSAPI, SSPI, LDAP, RADIUS
           "certificate authentication failed",
       })
    if (libpq_message.find(lasting) != std::string_view::npos) return true;
  return false;
}

}  // namespace fleetmcp::pg
