// The demo's data is current: data/fleet_demo.sql ends yesterday (Africa/Nairobi)
// unless told otherwise, and data/fleet_demo_shift.sql moves an older copy
// forward so that it does. Each test loads scale 0.01 (about a second) into a
// database of its own on the harness cluster, as the superuser.
#include <gtest/gtest.h>

#include <unistd.h>

#include "harness.hpp"

namespace fleetmcp::testing {
namespace {

// A database of the test's own, dropped at the end.
class DemoDatabase {
 public:
  explicit DemoDatabase(const std::string& name) : name_(test_tag(name) + "_" + std::to_string(getpid())) {
    for (char& c : name_)
      if (c == '-') c = '_';
    admin_.exec("DROP DATABASE IF EXISTS " + name_);
    admin_.exec("CREATE DATABASE " + name_);
    url_ = cluster().admin_url.substr(0, cluster().admin_url.rfind('/') + 1) + name_;
  }
  ~DemoDatabase() { admin_.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"); }
  // psql -f `script` with `variables` (-v name=value ...); true when it succeeded.
  bool psql(const std::string& script, const std::string& variables = "") const {
    const std::string command = cluster().pgbin + "/psql -X -q -v ON_ERROR_STOP=1 " + variables + " -d '" + url_ +
                                "' -f '" + script + "' >/dev/null";
    return std::system(command.c_str()) == 0;
  }
  const std::string& url() const { return url_; }

 private:
  Admin admin_;
  std::string name_, url_;
};

const std::string kDemo = std::string(FLEETMCP_SOURCE_DIR) + "/data/fleet_demo.sql";
const std::string kShift = std::string(FLEETMCP_SOURCE_DIR) + "/data/fleet_demo_shift.sql";

// The last local day of the positions, the backlog snapshots and the daily
// view: every device reports every day, so these end on the data's last day.
std::string last_days(Admin& db) {
  return db.scalar(
      "SET TimeZone = 'Africa/Nairobi'; "
      "SELECT concat_ws(' ', (SELECT max(ts)::date FROM tracksolid.positions), "
      "(SELECT max(day) FROM tickets.inc_daily_snapshot), (SELECT max(day) FROM reporting.v_daily_summary))");
}

std::string repeated(const std::string& day) { return day + " " + day + " " + day; }

// The latest value of every time and date column, and of the materialized
// view's, `days` later.
std::string latest(Admin& db, const std::string& days) {
  const std::string by = " + " + days + " * interval '1 day')";
  std::string sql = "SET TimeZone = 'Africa/Nairobi'; SELECT concat_ws(' '";
  for (const char* column :
       {"ts) FROM tracksolid.positions", "ts) FROM tracksolid.events", "installed_at) FROM tracksolid.devices",
        "refreshed_at) FROM reporting.refresh_log", "started_at) FROM reporting.v_trips", "day) FROM reporting.v_trips",
        "filled_at) FROM fuel.records", "last_run) FROM fuel.ingest_state", "opened_at) FROM tickets.inc",
        "closed_at) FROM tickets.inc", "at) FROM tickets.closure_events", "changed_at) FROM tickets.change_log",
        "created_at) FROM tickets.users", "planned_start) FROM tickets.crq", "planned_end) FROM tickets.crq",
        "actual_start) FROM tickets.crq", "actual_end) FROM tickets.crq", "day) FROM tickets.inc_daily_snapshot"}) {
    std::string c = column;
    sql += ", (SELECT (max(" + c.replace(c.find(')'), 1, ")" + by);
    sql += ")";
  }
  return db.scalar(sql + ")");
}

// The demo's three suggested questions, with relative dates as a model first
// writes them, in the demo's session time zone: each must have an answer.
void expect_the_suggested_questions_have_answers(Admin& db) {
  db.exec("SET TimeZone = 'Africa/Nairobi'");
  // Which cost centres drove the most kilometres last week, and which vehicles led them?
  EXPECT_NE(db.scalar("SELECT count(*) FROM (SELECT d.cost_centre, sum(s.km) FROM reporting.v_daily_summary s "
                      "JOIN tracksolid.devices d USING (imei) WHERE s.day >= current_date - 7 "
                      "GROUP BY 1 HAVING sum(s.km) > 0) x"),
            "0");
  // Which open incidents have breached their SLA, by region?
  EXPECT_NE(db.scalar("SELECT count(*) FROM (SELECT region, count(*) FROM tickets.inc_open_sla "
                      "WHERE due_at < now() GROUP BY region) x"),
            "0");
  // ... and the stored SLA state agrees with the clock: no open incident past its
  // due time by more than a day is marked within (the data ends yesterday).
  EXPECT_EQ(db.scalar("SELECT count(*) FROM tickets.inc_open_sla "
                      "WHERE due_at < now() - interval '1 day' AND sla_status = 'within'"),
            "0");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM tickets.inc WHERE opened_at > now() OR closed_at > now()"), "0");
  // Which vehicles used the most fuel per 100 km over the last four weeks?
  EXPECT_NE(db.scalar("SELECT count(*) FROM fuel.fn_fuel_efficiency(current_date - 28, current_date) "
                      "WHERE litres_per_100km > 0"),
            "0");
}

TEST(FleetDemo, TheFleetEndsYesterdayInNairobi) {
  DemoDatabase demo("fleet_demo_current");
  ASSERT_TRUE(demo.psql(kDemo, "-v scale=0.01"));
  Admin db(demo.url());
  const std::string yesterday = db.scalar("SELECT ((now() AT TIME ZONE 'Africa/Nairobi')::date - 1)::text");
  EXPECT_EQ(last_days(db), repeated(yesterday));
  expect_the_suggested_questions_have_answers(db);
  // The fuel function's columns count the same fills: l/100 km is litres over km.
  EXPECT_EQ(db.scalar("SELECT count(*) FROM fuel.fn_fuel_efficiency(current_date - 28, current_date) "
                      "WHERE litres_per_100km <> round(100 * litres / nullif(km, 0), 1)"),
            "0");
  // A current copy is left alone.
  const std::string before = db.scalar("SELECT sum(hashtext(ts::text)) FROM tracksolid.positions");
  ASSERT_TRUE(demo.psql(kShift));
  EXPECT_EQ(db.scalar("SELECT sum(hashtext(ts::text)) FROM tracksolid.positions"), before);
}

TEST(FleetDemo, AStaleCopyIsMovedForwardToEndYesterday) {
  DemoDatabase demo("fleet_demo_stale");
  ASSERT_TRUE(demo.psql(kDemo, "-v scale=0.01 -v last_day=2026-03-15"));
  Admin db(demo.url());
  EXPECT_EQ(last_days(db), repeated("2026-03-15"));
  const std::string yesterday = db.scalar("SELECT ((now() AT TIME ZONE 'Africa/Nairobi')::date - 1)::text");
  const std::string gap = db.scalar("SELECT date '" + yesterday + "' - date '2026-03-15'");
  const std::string shape =
      "SET TimeZone = 'Africa/Nairobi'; SELECT concat_ws(' ', count(*), sum(extract(epoch FROM closed_at - "
      "opened_at)), "
      "string_agg(sla_status, '' ORDER BY id)) FROM tickets.inc";
  const std::string before = db.scalar(shape);
  const std::string moved = latest(db, gap);
  const std::string receipt = db.scalar("SELECT receipt_no || ' ' || (filled_at + " + gap +
                                        " * interval '1 day')::date FROM fuel.records "
                                        "ORDER BY id LIMIT 1");

  ASSERT_TRUE(demo.psql(kShift));
  EXPECT_EQ(last_days(db), repeated(yesterday));
  EXPECT_EQ(latest(db, "0"), moved);    // every time column, by the same days
  EXPECT_EQ(db.scalar(shape), before);  // the same incidents, durations and SLA states
  // Derived text follows the times: the receipt's date, the raw record's opened_at.
  const std::string shifted_receipt =
      db.scalar("SELECT receipt_no || ' ' || filled_at::date FROM fuel.records ORDER BY id LIMIT 1");
  EXPECT_EQ(shifted_receipt.substr(8), receipt.substr(8));
  EXPECT_EQ(shifted_receipt.substr(2, 6),
            db.scalar("SELECT to_char(filled_at, 'YYMMDD') FROM fuel.records ORDER BY id LIMIT 1"));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM tickets.inc WHERE raw NOT LIKE '%opened_at=' || "
                      "to_char(opened_at, 'YYYY-MM-DD HH24:MI:SS') || '%'"),
            "0");
  expect_the_suggested_questions_have_answers(db);
}

}  // namespace
}  // namespace fleetmcp::testing
