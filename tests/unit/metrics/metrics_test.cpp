#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

#include "metrics/activity.hpp"
#include "metrics/exposition.hpp"
#include "metrics/metrics.hpp"

using namespace fleetmcp::metrics;

namespace {

// The value of the sample whose line starts with `head` (name and labels).
std::string sample(const std::string& text, const std::string& head) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(head + " ", 0) == 0) return line.substr(head.size() + 1);
  return "(missing)";
}

fleetmcp::audit::Record record(std::string caller, std::string tool, std::string outcome, double seconds = 0.01) {
  fleetmcp::audit::Record r;
  r.caller = std::move(caller);
  r.tool = std::move(tool);
  r.outcome = std::move(outcome);
  r.seconds = seconds;
  return r;
}

}  // namespace

TEST(Exposition, LabelValuesEscapeBackslashQuoteAndNewline) {
  std::string out;
  write_sample(out, "m", {{"a", "x\\y\"z\nw"}}, std::uint64_t{3});
  EXPECT_EQ(out, "m{a=\"x\\\\y\\\"z\\nw\"} 3\n");
}

TEST(Exposition, LabelValuesStayValidUtf8WithoutControlCharacters) {
  std::string out;
  // A cut multi-byte character, an escape sequence, DEL; a valid é stays.
  write_sample(out, "m", {{"a", "B\xC3|\x1B[31m|\x7F|\xC3\xA9"}}, std::uint64_t{1});
  EXPECT_EQ(out, "m{a=\"B\xEF\xBF\xBD|\xEF\xBF\xBD[31m|\xEF\xBF\xBD|\xC3\xA9\"} 1\n");
}

TEST(Exposition, HelpEscapesBackslashAndNewlineButNotQuotes) {
  std::string out;
  write_family(out, "m_total", "a \"b\" \\ c\nd", "counter");
  EXPECT_EQ(out, "# HELP m_total a \"b\" \\\\ c\\nd\n# TYPE m_total counter\n");
}

TEST(Exposition, ValuesAreShortIntegersOrSpecialWords) {
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(1e300), "1e+300");
  EXPECT_EQ(format_value(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(Exposition, HistogramBucketsAreCumulativeAndEndAtInfWithTheCount) {
  Histogram h;
  h.observe(0.0001);  // first bucket
  h.observe(0.003);   // le=0.005
  h.observe(0.005);   // on a bound: counted in it
  h.observe(1000);    // past the last bound: only +Inf
  std::string out;
  h.write(out, "d_seconds", {{"tool", "query"}});
  EXPECT_EQ(sample(out, "d_seconds_bucket{tool=\"query\",le=\"0.0005\"}"), "1");
  EXPECT_EQ(sample(out, "d_seconds_bucket{tool=\"query\",le=\"0.0025\"}"), "1");
  EXPECT_EQ(sample(out, "d_seconds_bucket{tool=\"query\",le=\"0.005\"}"), "3");
  EXPECT_EQ(sample(out, "d_seconds_bucket{tool=\"query\",le=\"60\"}"), "3");
  EXPECT_EQ(sample(out, "d_seconds_bucket{tool=\"query\",le=\"+Inf\"}"), "4");
  EXPECT_EQ(sample(out, "d_seconds_count{tool=\"query\"}"), "4");
  EXPECT_EQ(sample(out, "d_seconds_sum{tool=\"query\"}"), format_value(0.0001 + 0.003 + 0.005 + 1000));
}

TEST(Metrics, ToolCallsCountByToolOutcomeRuleSqlstateAndAnalyst) {
  Metrics m("1.2.3");
  auto ok = record("alice", "query", "ok");
  ok.rows = 10;
  m.tool_call(ok);
  auto denied = record("alice", "query", "denied");
  denied.error = "denied";
  denied.rule = "statement_kind";
  m.tool_call(denied);
  auto failed = record("bob", "query", "error");
  failed.error = "db_error";
  failed.sqlstate = "42P01";
  m.tool_call(failed);
  auto cancelled = record("bob", "query", "error");
  cancelled.error = "cancelled";
  cancelled.cause = "client_request";
  m.tool_call(cancelled);
  auto timed_out = record("bob", "query", "error");
  timed_out.error = "timeout";
  timed_out.sqlstate = "57014";
  m.tool_call(timed_out);
  m.request("tools/call", true, 0.01, 100);
  m.request("tools/list", false, 0.001, 50);
  m.unauthorized();
  std::string out;
  m.render(out, Gauges{});
  EXPECT_EQ(sample(out, "fleetmcp_build_info{version=\"1.2.3\"}"), "1");
  EXPECT_EQ(sample(out, "fleetmcp_tool_calls_total{tool=\"query\",outcome=\"ok\"}"), "1");
  EXPECT_EQ(sample(out, "fleetmcp_tool_calls_total{tool=\"query\",outcome=\"denied\"}"), "1");
  EXPECT_EQ(sample(out, "fleetmcp_tool_calls_total{tool=\"query\",outcome=\"db_error\"}"), "1");
  EXPECT_EQ(sample(out, "fleetmcp_tool_call_duration_seconds_count{tool=\"query\"}"), "5");
  EXPECT_EQ(sample(out, "fleetmcp_rows_returned_total{tool=\"query\"}"), "10");
  EXPECT_EQ(sample(out, "fleetmcp_guard_rejections_total{rule=\"statement_kind\"}"), "1");
  EXPECT_EQ(sample(out, "fleetmcp_postgres_errors_total{class=\"42\"}"), "1");
  EXPECT_EQ(sample(out, "fleetmcp_postgres_errors_total{class=\"57\"}"), "1");
  EXPECT_EQ(sample(out, "fleetmcp_cancellations_total{cause=\"client_request\"}"), "1");
  EXPECT_EQ(sample(out, "fleetmcp_cancellations_total{cause=\"statement_timeout\"}"), "1");
  EXPECT_EQ(sample(out, "fleetmcp_requests_total{method=\"tools/list\",outcome=\"error\"}"), "1");
  EXPECT_EQ(sample(out, "fleetmcp_response_bytes_total{method=\"tools/call\"}"), "100");
  EXPECT_EQ(sample(out, "fleetmcp_unauthorized_total"), "1");
  EXPECT_EQ(sample(out, "fleetmcp_analyst_tool_calls_total{analyst=\"alice\",outcome=\"denied\"}"), "1");
  EXPECT_EQ(sample(out, "fleetmcp_analyst_rows_returned_total{analyst=\"alice\"}"), "10");
  const auto analysts = m.analysts();
  ASSERT_EQ(analysts.size(), 2u);
  EXPECT_EQ(analysts[0].name, "bob");  // busiest first
  EXPECT_EQ(analysts[0].errors, 3u);
  EXPECT_EQ(analysts[1].denied, 1u);
}

TEST(Metrics, InventedNamesCannotGrowAScrapePastTheBounds) {
  Metrics m("x");
  for (int i = 0; i < 3000; ++i) {
    m.tool_call(record("analyst" + std::to_string(i), "ws:action" + std::to_string(i), "ok"));
    m.request("method" + std::to_string(i), true, 0.001, 1);
  }
  std::string out;
  m.render(out, Gauges{});
  EXPECT_EQ(m.analysts().size(), Metrics::kMaxAnalysts + 1);  // and _other
  EXPECT_EQ(sample(out, "fleetmcp_analyst_rows_returned_total{analyst=\"_other\"}"), "0");
  EXPECT_EQ(sample(out, "fleetmcp_tool_calls_total{tool=\"_other\",outcome=\"ok\"}"),
            std::to_string(3000 - Metrics::kMaxLabelValues));
  EXPECT_EQ(sample(out, "fleetmcp_requests_total{method=\"_other\",outcome=\"ok\"}"),
            std::to_string(3000 - Metrics::kMaxLabelValues));
}

// Not a timing assertion: prints what a scrape and a status snapshot cost at
// the bounds (1,000 analysts, 10,000 shapes), for the operations guide.
TEST(Metrics, ScrapeCostAtTheBoundsIsReported) {
  Metrics m("x");
  Activity a;
  for (int i = 0; i < 1000; ++i) {
    auto r = record("analyst" + std::to_string(i), i % 2 ? "query" : "sample_table", i % 7 ? "ok" : "error");
    r.error = i % 7 ? "" : "db_error";
    m.tool_call(r);
  }
  for (int i = 0; i < 10000; ++i) {
    auto r = record("analyst" + std::to_string(i % 1000), "query", "ok");
    r.fingerprint = std::to_string(1000000 + i);
    r.sql = "SELECT * FROM t WHERE id = " + std::to_string(i);
    a.finished(r);
  }
  EXPECT_EQ(a.shapes(), Activity::kMaxShapes);
  const auto start = std::chrono::steady_clock::now();
  std::string out;
  m.render(out, Gauges{});
  const auto rendered = std::chrono::steady_clock::now();
  const auto heaviest = a.heaviest(true, 10);
  const auto done = std::chrono::steady_clock::now();
  EXPECT_EQ(heaviest.size(), 10u);
  std::printf("scrape at 1,000 analysts: %zu bytes in %.2f ms; 10 heaviest of 10,000 shapes in %.2f ms\n", out.size(),
              std::chrono::duration<double, std::milli>(rendered - start).count(),
              std::chrono::duration<double, std::milli>(done - rendered).count());
}

TEST(Activity, ShapesOfTheLastHourRankByTimeAndByCount) {
  Activity a;
  const auto now = Clock::now();
  auto slow = record("alice", "query", "ok", 2.0);
  slow.fingerprint = "slow";
  slow.sql = "SELECT slow";
  a.finished(slow, now);
  for (int i = 0; i < 5; ++i) {
    auto quick = record("bob", "query", i ? "ok" : "error", 0.01);
    quick.fingerprint = "quick";
    a.finished(quick, now);
  }
  auto old = record("carol", "query", "ok", 100);
  old.fingerprint = "old";
  a.finished(old, now - std::chrono::minutes(90));  // outside the window
  const auto by_time = a.heaviest(true, 10, now);
  ASSERT_EQ(by_time.size(), 2u);
  EXPECT_EQ(by_time[0].fingerprint, "slow");
  EXPECT_EQ(by_time[0].sql, "SELECT slow");
  EXPECT_EQ(by_time[1].calls, 5u);
  EXPECT_EQ(by_time[1].errors, 1u);
  EXPECT_EQ(a.heaviest(false, 1, now)[0].fingerprint, "quick");
  // An hour on, nothing is left in the window.
  EXPECT_TRUE(a.heaviest(true, 10, now + std::chrono::minutes(61)).empty());
}

// A full table gives way to a new shape (a new heavy query always shows) and
// says how many shapes of the window it pushed out.
TEST(Activity, AFullTableMakesRoomForEachNewShapeFromTheLeastRecentlySeen) {
  Activity a;
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < Activity::kMaxShapes; ++i) {
    auto r = record("a", "query", "ok");
    r.fingerprint = "f" + std::to_string(i);
    a.finished(r, t0);
  }
  auto again = record("a", "query", "ok");
  again.fingerprint = "f0";  // seen again: now the most recently seen
  a.finished(again, t0);
  auto heavy = record("mallory", "query", "ok", 30);
  heavy.fingerprint = "heavy";
  heavy.sql = "SELECT heavy";
  a.finished(heavy, t0);
  EXPECT_EQ(a.shapes(), Activity::kMaxShapes);
  EXPECT_EQ(a.evicted_in_window(), 1u);
  const auto top = a.heaviest(true, 1, t0);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].fingerprint, "heavy");
  EXPECT_EQ(top[0].last_analyst, "mallory");
  bool f0 = false, f1 = false;
  for (const auto& s : a.heaviest(false, Activity::kMaxShapes, t0)) {
    f0 |= s.fingerprint == "f0";
    f1 |= s.fingerprint == "f1";
  }
  EXPECT_TRUE(f0);   // kept: seen again
  EXPECT_FALSE(f1);  // the least recently seen went
}

TEST(Activity, AShapeShowsTheTextItRanAsLast) {
  Activity a;
  auto first = record("mallory", "query", "ok");
  first.fingerprint = "f";
  first.sql = "/* harmless */ SELECT 1";
  a.finished(first);
  auto later = first;
  later.caller = "alice";
  later.sql = "SELECT 2";
  a.finished(later);
  EXPECT_EQ(a.heaviest(false, 1)[0].sql, "SELECT 2");
}

TEST(Activity, RunningCallsAreListedUntilTheirLastPointerGoes) {
  Activity a;
  {
    auto running = a.start("alice", "query");
    running->rows += 42;
    running->set_statement("abc", std::string(1000, 'x'));
    const auto now = a.running();
    ASSERT_EQ(now.size(), 1u);
    EXPECT_EQ(now[0].analyst, "alice");
    EXPECT_EQ(now[0].rows, 42);
    EXPECT_EQ(now[0].fingerprint, "abc");
    EXPECT_LE(now[0].sql.size(), Activity::kSqlChars + 3);  // clipped, with an ellipsis
  }
  EXPECT_TRUE(a.running().empty());
}

TEST(Activity, RejectionsKeepTheLatestTwentyNewestFirst) {
  Activity a;
  for (int i = 0; i < 25; ++i) {
    auto r = record("a", "query", "denied");
    r.rule = "rule" + std::to_string(i);
    r.sql = "DELETE FROM t" + std::to_string(i);
    a.finished(r);
    a.finished(record("a", "ws:delete", "denied"));  // no SQL: not listed, so it cannot flush the list
  }
  const auto recent = a.recent_rejections();
  ASSERT_EQ(recent.size(), Activity::kRecentRejections);
  EXPECT_EQ(recent.front().rule, "rule24");
  EXPECT_EQ(recent.back().rule, "rule5");
}
