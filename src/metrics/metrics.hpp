// The server's counters and histograms, exposed on /metrics in the Prometheus
// text format. Fed by the audit records (every tool call of every transport),
// by the dispatcher (every JSON-RPC request) and by the database layer (queue
// wait and database time of each plan); gauges are read at scrape time.
//
// One mutex guards everything: an update is a few map look-ups, far below a
// database round trip, and a scrape renders under it in about a millisecond
// even with a thousand analysts. Every label has a bounded set of values
// (kMaxLabelValues per label, kMaxAnalysts analysts), so a caller cannot
// grow a scrape by inventing names; past the bound, values count as "_other".
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/audit.hpp"
#include "metrics/exposition.hpp"

namespace fleetmcp::metrics {

// What the scrape reads from the rest of the server at that moment.
struct Gauges {
  int pool_max = 0, pool_idle = 0, pool_busy = 0, pool_connecting = 0;
  std::size_t pool_waiting = 0;
  std::uint64_t pool_opened = 0, pool_closed = 0, pool_connect_failures = 0;
  bool login_refused = false;
  int http_connections = 0, websocket_connections = 0;
  int role_findings = -1;  // -1: the self-audit has not run yet
  bool role_unsafe = false;
};

struct AnalystTotals {
  std::string name;
  std::uint64_t calls = 0, errors = 0, denied = 0, rows = 0;
  double seconds = 0;
};

class Metrics {
 public:
  static constexpr std::size_t kMaxAnalysts = 1000;
  static constexpr std::size_t kMaxLabelValues = 64;
  static constexpr const char* kOther = "_other";

  explicit Metrics(std::string version);

  // One JSON-RPC request of any method (a JSON-RPC error is not ok).
  void request(std::string_view method, bool ok, double seconds, std::size_t response_bytes);
  // One finished tool call, as audited.
  void tool_call(const audit::Record& r);
  // One database plan: how long it waited for a connection, how long it ran.
  void plan(double queue_seconds, double database_seconds);
  void unauthorized();

  void render(std::string& out, const Gauges& gauges) const;

  // For the status page: per analyst, busiest first; guard rejections by rule.
  std::vector<AnalystTotals> analysts() const;
  std::vector<std::pair<std::string, std::uint64_t>> rejections() const;

 private:
  using Key = std::pair<std::string, std::string>;
  // The value itself while fewer than `limit` values are known, else kOther.
  template <class Map>
  static std::string bounded(const Map& known, std::string_view value, std::size_t limit);

  const std::string version_;
  const double started_at_;  // seconds since the epoch
  mutable std::mutex mu_;
  std::map<Key, std::uint64_t> requests_;  // (method, outcome)
  std::map<std::string, Histogram> request_seconds_;
  std::map<std::string, std::uint64_t> response_bytes_;
  std::map<Key, std::uint64_t> tool_calls_;  // (tool, outcome)
  std::map<std::string, Histogram> tool_seconds_;
  std::map<std::string, std::uint64_t> tool_rows_;
  std::map<std::string, std::uint64_t> guard_rejections_;  // by rule
  std::map<std::string, std::uint64_t> postgres_errors_;   // by SQLSTATE class
  std::map<std::string, std::uint64_t> cancellations_;     // by cause
  Histogram queue_seconds_, database_seconds_;
  std::uint64_t unauthorized_ = 0;
  struct Analyst {
    std::map<std::string, std::uint64_t> calls;  // by outcome
    std::uint64_t rows = 0;
    double seconds = 0;
  };
  std::map<std::string, Analyst> analysts_;
};

// The outcome label of a tool call: ok, denied, or the error kind.
std::string_view outcome_of(const audit::Record& r);

}  // namespace fleetmcp::metrics
