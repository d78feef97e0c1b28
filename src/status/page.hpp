// /status: one server-rendered HTML page for the operator, refreshing itself,
// readable on a phone, with no external assets (inline style, no script).
// A pure function of a View, so what it shows and how it escapes is tested
// without a server.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "metrics/activity.hpp"
#include "metrics/metrics.hpp"

namespace fleetmcp::status {

struct RoleAudit {
  bool done = false;  // false: the self-audit has not run yet (the database was down)
  std::string role, database;
  struct Finding {
    std::string severity, kind, what;
  };
  std::vector<Finding> findings;
};

struct View {
  std::string version;
  std::string now_utc;  // 2026-05-01 09:12:44 UTC
  double uptime_seconds = 0;
  int refresh_seconds = 5;
  metrics::Gauges gauges;
  std::vector<metrics::Activity::RunningView> running;
  std::vector<metrics::Activity::ShapeView> by_time, by_count;
  std::size_t shapes = 0;            // all shapes known
  std::uint64_t shapes_evicted = 0;  // pushed out although seen within the window
  std::vector<metrics::AnalystTotals> analysts;
  std::vector<std::pair<std::string, std::uint64_t>> rejections_by_rule;
  std::vector<metrics::Activity::Rejection> recent_rejections;
  RoleAudit role;
};

std::string render(const View& view);

// & < > " ' as entities: analysts' SQL and names reach the page.
std::string html_escape(std::string_view text);

}  // namespace fleetmcp::status
