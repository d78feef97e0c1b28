// One JSON line per database touch (a tool call, a resource read, a prompt or
// a completion that looks up the catalog): who ran what, under which policy,
// how much came back, how it ended.
// Serve mode writes to stdout (the operator's log); stdio mode to stderr, since
// stdout carries the protocol there.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace fleetmcp::audit {

struct Record {
  std::string kind = "tool_call";  // tool_call | resource_read | prompt_get | completion
  std::string caller;
  std::string policy;    // the policy entries that applied (src/policy), when not the server's alone
  std::string token_id;  // an OAuth token's jti or hash (never the token)
  std::string tool;      // the tool, or the method for the other kinds
  std::string subject;   // what the other kinds read: the resource URI, the prompt, the completed argument
  std::string fingerprint;
  std::string sql;      // bounded by the sink's sql_max
  long long rows = -1;  // -1: not applicable
  bool truncated = false;
  long long ms = 0;
  double seconds = 0;    // the same time, unrounded, for the metrics
  std::string outcome;   // ok | denied | error | limited
  std::string sqlstate;  // with outcome error, when PostgreSQL gave one
  std::string error;     // the error kind, when not ok
  std::string rule;      // the guard rule, when denied
  std::string cause;     // why the database was unavailable (libpq's message), for the operator;
                         // who ended a cancelled call (client_request, client_gone)

  // outcome, error, sqlstate, rule and cause from a failed call's error.
  void failed_with(const core::Error& e);
  // ms and seconds: the time since `started`.
  void took_since(std::chrono::steady_clock::time_point started);
};

class Sink {
 public:
  Sink(std::FILE* out, std::size_t sql_max) : out_(out), sql_max_(sql_max) {}
  void write(const Record& r);
  // Also told of every record written and every 401 (the metrics); set before serving.
  void observe(std::function<void(const Record&)> on_record, std::function<void()> on_unauthorized) {
    on_record_ = std::move(on_record);
    on_unauthorized_ = std::move(on_unauthorized);
  }
  static std::string format(const Record& r, std::size_t sql_max);

  // A request refused with 401: {"audit":"unauthorized","caller":null,"remote",
  // "reason"}, never the token. At most kUnauthorizedPerSecond lines a second:
  // the next line written counts the ones left out ("suppressed").
  void unauthorized(std::string_view remote, std::string_view reason);
  static std::string format_unauthorized(std::string_view remote, std::string_view reason, long long suppressed);
  static constexpr int kUnauthorizedPerSecond = 20;

 private:
  void emit(const std::string& line);
  std::FILE* out_;
  std::size_t sql_max_;
  std::function<void(const Record&)> on_record_;
  std::function<void()> on_unauthorized_;
  std::mutex mu_;
  long long unauthorized_second_ = 0;  // under mu_
  int unauthorized_in_second_ = 0;
  long long unauthorized_suppressed_ = 0;
};

}  // namespace fleetmcp::audit
