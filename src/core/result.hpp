// Errors as values for the core: every fallible function returns Result<T>.
// Our own type rather than std::expected: g++ 12 has it only under -std=c++2b and
// clang 14 (fuzz builds) not at all.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace fleetmcp::core {

// Each kind maps once, in errors/errors.cpp, to a JSON-RPC error, a tool's
// error text or a record API error frame.
enum class ErrorKind {
  BadRequest,      // the caller sent something malformed or out of range
  Denied,          // the SQL guard or a policy refused it
  Timeout,         // statement_timeout or a client-side deadline fired
  DbError,         // PostgreSQL rejected the statement (has a SQLSTATE)
  Unavailable,     // no connection to the database could be made
  ConnectionLost,  // the connection died while the statement may have run
  Busy,            // the pool's wait queue was full or the wait timed out
  Cancelled,       // the client went away or cancelled the request
  NotFound,        // the named resource, prompt or object does not exist
  Internal,        // a bug: should never reach a user
};

struct Error {
  ErrorKind kind = ErrorKind::Internal;
  std::string message;   // fit for the analyst: says what happened and what to do
  std::string sqlstate;  // PostgreSQL's code when it came from the server
  int position = 0;      // 1-based character position in the SQL, 0 when unknown
  std::string detail;    // PostgreSQL's DETAIL / HINT, or the guard's rule name
  std::string rule;      // the guard rule that rejected the statement
  bool lasting = false;  // Unavailable: retrying cannot help until someone changes something (a refused login)
};

std::string_view kind_name(ErrorKind kind);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Error> v_;
};

using Status = Result<std::monostate>;
inline Status ok_status() { return Status(std::monostate{}); }

inline Error make_error(ErrorKind kind, std::string message) {
  Error e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

}  // namespace fleetmcp::core
