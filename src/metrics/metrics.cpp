#include "metrics/metrics.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/cancel.hpp"
#include "pg/sqlstate.hpp"

namespace fleetmcp::metrics {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Resident memory and CPU time of this process, from /proc (Linux).
struct ProcessStats {
  double resident_bytes = -1, cpu_seconds = -1, open_fds = -1;
};

ProcessStats process_stats() {
  ProcessStats s;
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  if (std::ifstream statm("/proc/self/statm"); statm) {
    double size = 0, resident = 0;
    if (statm >> size >> resident) s.resident_bytes = resident * page;
  }
  if (std::ifstream stat("/proc/self/stat"); stat) {
    std::string line;
    std::getline(stat, line);
    // Fields after the command name, which is in parentheses and may hold spaces.
    std::istringstream rest(line.substr(std::min(line.size(), line.rfind(')') + 2)));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; rest >> field; ++i) {
      if (i == 14) utime = std::stod(field);
      if (i == 15) {
        stime = std::stod(field);
        s.cpu_seconds = (utime + stime) / ticks;
        break;
      }
    }
  }
  std::error_code ec;
  std::size_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++fds;
  if (!ec) s.open_fds = static_cast<double>(fds);
  return s;
}

}  // namespace

std::string_view outcome_of(const audit::Record& r) {
  if (r.outcome == "ok" || r.outcome == "denied") return r.outcome;
  return r.error.empty() ? std::string_view("error") : std::string_view(r.error);
}

Metrics::Metrics(std::string version) : version_(std::move(version)), started_at_(now_seconds()) {}

template <class Map>
std::string Metrics::bounded(const Map& known, std::string_view value, std::size_t limit) {
  std::string v(value);
  if (known.count(v) || known.size() < limit) return v;
  return kOther;
}

void Metrics::request(std::string_view method, bool ok, double seconds, std::size_t response_bytes) {
  std::lock_guard lock(mu_);
  const std::string m = bounded(request_seconds_, method, kMaxLabelValues);
  ++requests_[{m, ok ? "ok" : "error"}];
  request_seconds_[m].observe(seconds);
  response_bytes_[m] += response_bytes;
}

void Metrics::tool_call(const audit::Record& r) {
  const std::string outcome(outcome_of(r));
  std::lock_guard lock(mu_);
  const std::string tool = bounded(tool_seconds_, r.tool, kMaxLabelValues);
  ++tool_calls_[{tool, outcome}];
  tool_seconds_[tool].observe(r.seconds);
  if (r.rows > 0) tool_rows_[tool] += static_cast<std::uint64_t>(r.rows);
  if (r.outcome == "denied")
    ++guard_rejections_[bounded(guard_rejections_, r.rule.empty() ? "policy" : r.rule, kMaxLabelValues)];
  // The class is the SQLSTATE's first two characters, from a fixed alphabet.
  if (r.sqlstate.size() == 5) ++postgres_errors_[r.sqlstate.substr(0, 2)];
  if (r.error == "cancelled")
    ++cancellations_[r.cause == core::CancelSignal::kClientRequest ? core::CancelSignal::kClientRequest
                                                                   : core::CancelSignal::kClientGone];
  else if (r.error == "timeout")
    ++cancellations_[r.sqlstate == pg::kQueryCanceled ? "statement_timeout" : "no_answer"];
  Analyst& a = analysts_[bounded(analysts_, r.caller, kMaxAnalysts)];
  ++a.calls[outcome];
  if (r.rows > 0) a.rows += static_cast<std::uint64_t>(r.rows);
  a.seconds += r.seconds;
}

void Metrics::plan(double queue_seconds, double database_seconds) {
  std::lock_guard lock(mu_);
  queue_seconds_.observe(queue_seconds);
  database_seconds_.observe(database_seconds);
}

void Metrics::unauthorized() {
  std::lock_guard lock(mu_);
  ++unauthorized_;
}

std::vector<AnalystTotals> Metrics::analysts() const {
  std::vector<AnalystTotals> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, a] : analysts_) {
      AnalystTotals t{name};
      for (const auto& [outcome, n] : a.calls) {
        t.calls += n;
        if (outcome == "denied")
          t.denied += n;
        else if (outcome != "ok")
          t.errors += n;
      }
      t.rows = a.rows;
      t.seconds = a.seconds;
      out.push_back(std::move(t));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.calls > b.calls; });
  return out;
}

std::vector<std::pair<std::string, std::uint64_t>> Metrics::rejections() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  {
    std::lock_guard lock(mu_);
    out.assign(guard_rejections_.begin(), guard_rejections_.end());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

void Metrics::render(std::string& out, const Gauges& g) const {
  using U = std::uint64_t;
  const ProcessStats process = process_stats();  // outside the lock: it reads /proc
  std::lock_guard lock(mu_);
  write_family(out, "fleetmcp_build_info", "The running version.", "gauge");
  write_sample(out, "fleetmcp_build_info", {{"version", version_}}, U{1});

  write_family(out, "fleetmcp_requests_total", "JSON-RPC requests by method and outcome (error: a JSON-RPC error).",
               "counter");
  for (const auto& [k, v] : requests_)
    write_sample(out, "fleetmcp_requests_total", {{"method", k.first}, {"outcome", k.second}}, v);
  write_family(out, "fleetmcp_request_duration_seconds", "Time to answer a JSON-RPC request, by method.", "histogram");
  for (const auto& [m, h] : request_seconds_) h.write(out, "fleetmcp_request_duration_seconds", {{"method", m}});
  write_family(out, "fleetmcp_response_bytes_total", "Bytes of JSON-RPC responses, by method.", "counter");
  for (const auto& [m, v] : response_bytes_) write_sample(out, "fleetmcp_response_bytes_total", {{"method", m}}, v);

  write_family(out, "fleetmcp_tool_calls_total",
               "Tool calls (MCP tools and record API actions) by tool and outcome: ok, denied, or the error kind.",
               "counter");
  for (const auto& [k, v] : tool_calls_)
    write_sample(out, "fleetmcp_tool_calls_total", {{"tool", k.first}, {"outcome", k.second}}, v);
  write_family(out, "fleetmcp_tool_call_duration_seconds", "Time of a whole tool call, by tool.", "histogram");
  for (const auto& [t, h] : tool_seconds_) h.write(out, "fleetmcp_tool_call_duration_seconds", {{"tool", t}});
  write_family(out, "fleetmcp_rows_returned_total", "Rows returned to callers, by tool.", "counter");
  for (const auto& [t, v] : tool_rows_) write_sample(out, "fleetmcp_rows_returned_total", {{"tool", t}}, v);
  write_family(out, "fleetmcp_guard_rejections_total", "Statements the SQL guard or a policy refused, by rule.",
               "counter");
  for (const auto& [r, v] : guard_rejections_) write_sample(out, "fleetmcp_guard_rejections_total", {{"rule", r}}, v);
  write_family(out, "fleetmcp_postgres_errors_total",
               "Errors PostgreSQL returned, by SQLSTATE class (42: syntax or access, 57: operator intervention, ...).",
               "counter");
  for (const auto& [c, v] : postgres_errors_) write_sample(out, "fleetmcp_postgres_errors_total", {{"class", c}}, v);
  write_family(out, "fleetmcp_cancellations_total",
               "Calls ended before their answer, by cause: client_request (notifications/cancelled), client_gone, "
               "statement_timeout, no_answer.",
               "counter");
  for (const auto& [c, v] : cancellations_) write_sample(out, "fleetmcp_cancellations_total", {{"cause", c}}, v);

  write_family(out, "fleetmcp_queue_wait_seconds", "Time a database plan waited for a pooled connection.", "histogram");
  queue_seconds_.write(out, "fleetmcp_queue_wait_seconds", {});
  write_family(out, "fleetmcp_database_seconds", "Time a database plan took on its connection.", "histogram");
  database_seconds_.write(out, "fleetmcp_database_seconds", {});

  write_family(out, "fleetmcp_pool_connections", "Database connections by state.", "gauge");
  write_sample(out, "fleetmcp_pool_connections", {{"state", "idle"}}, U(g.pool_idle));
  write_sample(out, "fleetmcp_pool_connections", {{"state", "busy"}}, U(g.pool_busy));
  write_sample(out, "fleetmcp_pool_connections", {{"state", "connecting"}}, U(g.pool_connecting));
  write_family(out, "fleetmcp_pool_max_connections", "MCP_POOL_MAX.", "gauge");
  write_sample(out, "fleetmcp_pool_max_connections", {}, U(g.pool_max));
  write_family(out, "fleetmcp_pool_waiting", "Calls waiting for a database connection.", "gauge");
  write_sample(out, "fleetmcp_pool_waiting", {}, U(g.pool_waiting));
  write_family(out, "fleetmcp_pool_connections_opened_total", "Database connections opened.", "counter");
  write_sample(out, "fleetmcp_pool_connections_opened_total", {}, g.pool_opened);
  write_family(out, "fleetmcp_pool_connections_closed_total", "Database connections closed (idle, too old, dead).",
               "counter");
  write_sample(out, "fleetmcp_pool_connections_closed_total", {}, g.pool_closed);
  write_family(out, "fleetmcp_pool_connect_failures_total", "Failed attempts to open a database connection.",
               "counter");
  write_sample(out, "fleetmcp_pool_connect_failures_total", {}, g.pool_connect_failures);
  write_family(out, "fleetmcp_pool_login_refused",
               "1 while PostgreSQL refuses the server's login (wrong password, unknown role, pg_hba.conf).", "gauge");
  write_sample(out, "fleetmcp_pool_login_refused", {}, U(g.login_refused));
  write_family(out, "fleetmcp_role_findings", "Findings of the role self-audit (-1: not run yet; see fleetmcp doctor).",
               "gauge");
  write_sample(out, "fleetmcp_role_findings", {}, static_cast<double>(g.role_findings));
  write_family(out, "fleetmcp_role_unsafe", "1 when the role can write or administer (MCP_ALLOW_UNSAFE_ROLE).",
               "gauge");
  write_sample(out, "fleetmcp_role_unsafe", {}, U(g.role_unsafe));

  write_family(out, "fleetmcp_http_connections", "Open client connections (all kinds, MCP_MAX_CONNECTIONS).", "gauge");
  write_sample(out, "fleetmcp_http_connections", {}, U(g.http_connections));
  write_family(out, "fleetmcp_websocket_connections", "Open record API connections (/mcp/ws).", "gauge");
  write_sample(out, "fleetmcp_websocket_connections", {}, U(g.websocket_connections));
  write_family(out, "fleetmcp_unauthorized_total", "Requests refused with 401.", "counter");
  write_sample(out, "fleetmcp_unauthorized_total", {}, unauthorized_);

  write_family(out, "fleetmcp_analyst_tool_calls_total",
               "Tool calls per analyst (the token's name) and outcome; past 1000 analysts, as _other.", "counter");
  for (const auto& [name, a] : analysts_)
    for (const auto& [outcome, n] : a.calls)
      write_sample(out, "fleetmcp_analyst_tool_calls_total", {{"analyst", name}, {"outcome", outcome}}, n);
  write_family(out, "fleetmcp_analyst_rows_returned_total", "Rows returned per analyst.", "counter");
  for (const auto& [name, a] : analysts_)
    write_sample(out, "fleetmcp_analyst_rows_returned_total", {{"analyst", name}}, a.rows);
  write_family(out, "fleetmcp_analyst_call_seconds_total", "Time of tool calls per analyst.", "counter");
  for (const auto& [name, a] : analysts_)
    write_sample(out, "fleetmcp_analyst_call_seconds_total", {{"analyst", name}}, a.seconds);

  write_family(out, "process_start_time_seconds", "Start time of the process since the epoch.", "gauge");
  write_sample(out, "process_start_time_seconds", {}, started_at_);
  if (process.resident_bytes >= 0) {
    write_family(out, "process_resident_memory_bytes", "Resident memory size.", "gauge");
    write_sample(out, "process_resident_memory_bytes", {}, process.resident_bytes);
  }
  if (process.cpu_seconds >= 0) {
    write_family(out, "process_cpu_seconds_total", "User and system CPU time.", "counter");
    write_sample(out, "process_cpu_seconds_total", {}, process.cpu_seconds);
  }
  if (process.open_fds >= 0) {
    write_family(out, "process_open_fds", "Open file descriptors.", "gauge");
    write_sample(out, "process_open_fds", {}, process.open_fds);
  }
}

}  // namespace fleetmcp::metrics
