// One JSON line per tool call: who ran what, how much came back, how it ended.
// Serve mode writes to stdout (the operator's log); stdio mode to stderr, since
// stdout carries the protocol there.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>

namespace fleetmcp::audit {

struct Record {
  std::string caller;
  std::string tool;
  std::string fingerprint;
  std::string sql;       // bounded by the sink's sql_max
  long long rows = -1;   // -1: not applicable
  bool truncated = false;
  long long ms = 0;
  std::string outcome;   // ok | denied | error
  std::string sqlstate;  // with outcome error, when PostgreSQL gave one
  std::string error;     // the error kind, when not ok
  std::string rule;      // the guard rule, when denied
};

class Sink {
 public:
  Sink(std::FILE* out, std::size_t sql_max) : out_(out), sql_max_(sql_max) {}
  void write(const Record& r);
  static std::string format(const Record& r, std::size_t sql_max);

 private:
  std::FILE* out_;
  std::size_t sql_max_;
  std::mutex mu_;
};

}  // namespace fleetmcp::audit
