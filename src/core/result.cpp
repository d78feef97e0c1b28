#include "core/result.hpp"

namespace fleetmcp::core {

std::string_view kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::BadRequest: return "bad_request";
    case ErrorKind::Denied: return "denied";
    case ErrorKind::Timeout: return "timeout";
    case ErrorKind::DbError: return "db_error";
    case ErrorKind::Unavailable: return "unavailable";
    case ErrorKind::ConnectionLost: return "connection_lost";
    case ErrorKind::Busy: return "busy";
    case ErrorKind::Cancelled: return "cancelled";
    case ErrorKind::NotFound: return "not_found";
    case ErrorKind::Internal: return "internal";
  }
  return "internal";
}

}  // namespace fleetmcp::core
