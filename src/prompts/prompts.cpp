#include "prompts/prompts.hpp"

#include <cctype>

#include "resources/uri.hpp"

namespace fleetmcp::prompts {

namespace {

using core::ErrorKind;
using core::make_error;

std::string arg(const Arguments& args, const std::string& name, const std::string& fallback = "") {
  auto it = args.find(name);
  return it == args.end() || it->second.empty() ? fallback : it->second;
}

// YYYY-MM-DD: the prompts put dates into SQL the model writes, so they must be
// plain dates, not text that could steer the query.
core::Result<std::string> date_arg(const Arguments& args, const std::string& name, const std::string& fallback = "") {
  const std::string v = arg(args, name, fallback);
  bool ok = v.size() == 10 && v[4] == '-' && v[7] == '-';
  for (std::size_t i = 0; ok && i < v.size(); ++i)
    if (i != 4 && i != 7) ok = std::isdigit(static_cast<unsigned char>(v[i]));
  if (!ok)
    return make_error(ErrorKind::BadRequest, "argument '" + name + "' must be a date as YYYY-MM-DD, got '" + v + "'");
  return v;
}

core::Result<std::string> daily_fleet_summary(const Arguments& args) {
  auto from = date_arg(args, "start_date");
  if (!from) return from.error();
  auto to = date_arg(args, "end_date", *from);
  if (!to) return to.error();
  std::string text =
      "Summarise the fleet's activity from " + *from + " to " + *to +
      " (local dates, Africa/Nairobi).\n\n"
      "Use reporting.v_daily_summary (one row per device and local day: points, km, odometer_km, max_speed, "
      "avg_moving_speed, moving_minutes) filtered with day BETWEEN '" +
      *from + "' AND '" + *to +
      "', joined to tracksolid.devices on imei for vehicle names and cost centres.\n"
      "Report: vehicles active vs. registered, total and average km per active vehicle, the ten vehicles "
      "with the most km, vehicles that did not report at all, and km per cost centre.\n"
      "Ask with aggregate queries (GROUP BY in SQL), one question per query call; do not fetch raw "
      "tracksolid.positions rows.";
  const std::string cost_centre = arg(args, "cost_centre");
  if (!cost_centre.empty()) text += "\nOnly include vehicles of cost centre '" + cost_centre + "'.";
  return text;
}

core::Result<std::string> open_tickets_by_sla(const Arguments& args) {
  std::string text =
      "Give an overview of open support incidents by SLA status.\n\n"
      "Use tickets.inc_open_sla (open incidents with priority, region, cluster, owner, normalized_status, "
      "sla_status, opened_at, due_at and age). sla_status is within, at_risk, breached or excluded; "
      "priority 1 is critical (4 h target) to 4 low (72 h).\n"
      "Report counts by sla_status and priority, the breached and at-risk incidents closest to or furthest "
      "past their due_at (number, summary, owner), unassigned incidents (owner IS NULL), and the regions "
      "with the most breaches.\n"
      "Use aggregate queries; list individual incidents only for the top ten of each group.";
  const std::string region = arg(args, "region");
  if (!region.empty()) text += "\nOnly include region '" + region + "'.";
  const std::string priority = arg(args, "priority");
  if (!priority.empty()) {
    if (priority.size() != 1 || priority[0] < '1' || priority[0] > '4')
      return make_error(ErrorKind::BadRequest, "argument 'priority' must be 1, 2, 3 or 4, got '" + priority + "'");
    text += "\nOnly include priority " + priority + ".";
  }
  return text;
}

core::Result<std::string> fuel_anomalies(const Arguments& args) {
  auto from = date_arg(args, "start_date");
  if (!from) return from.error();
  auto to = date_arg(args, "end_date", *from);
  if (!to) return to.error();
  const std::string threshold = arg(args, "threshold_pct", "30");
  for (char c : threshold)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return make_error(ErrorKind::BadRequest,
                        "argument 'threshold_pct' must be a whole number, got '" + threshold + "'");
  return "Find fuel anomalies per vehicle from " + *from + " to " + *to +
         ".\n\n"
         "Use fuel.records (one row per fill: imei, filled_at, litres, unit_price, cost, odometer_km, station) "
         "and fuel.fn_fuel_efficiency('" +
         *from + "', '" + *to +
         "') (per vehicle: fills, litres, cost, km, "
         "litres_per_100km).\n"
         "Flag vehicles whose litres_per_100km is more than " +
         threshold +
         "% above the fleet median, fills larger than the vehicle's usual fill by the same margin, two fills "
         "of one vehicle within a few hours, and odometer readings that go backwards. Compare with km driven "
         "in reporting.v_daily_summary for the same days where it helps.\n"
         "Use aggregate queries and show at most twenty vehicles, worst first, with the evidence for each.";
}

core::Result<std::string> explore_table(const Arguments& args) {
  const std::string schema = arg(args, "schema"), table = arg(args, "table");
  const std::string uri = resources::object_uri("table", schema, table);
  return "Explain what " + schema + "." + table +
         " holds and how to use it.\n\n"
         "Read the resource " +
         uri +
         " (columns, comments, keys, indexes, row estimate), look at a few rows "
         "with sample_table, then describe what one row means, which columns to filter and join on, and "
         "suggest three questions this table answers, each with the SQL that answers it.";
}

}  // namespace

const std::vector<Prompt>& fleet_prompts() {
  static const std::vector<Prompt> all = {
      {"daily_fleet_summary",
       "Daily fleet summary",
       "Fleet activity for a date range: active vehicles, km driven, top vehicles, cost centres.",
       {{"start_date", "first local day, YYYY-MM-DD", true},
        {"end_date", "last local day, YYYY-MM-DD (default: start_date)", false},
        {"cost_centre", "only this cost centre", false}},
       daily_fleet_summary},
      {"open_tickets_by_sla",
       "Open tickets by SLA status",
       "Open incidents grouped by SLA status and priority, with breaches and unassigned tickets.",
       {{"region", "only this region", false}, {"priority", "only this priority, 1 (critical) to 4 (low)", false}},
       open_tickets_by_sla},
      {"fuel_anomalies",
       "Fuel anomalies per vehicle",
       "Vehicles whose fuel use or fills look wrong for a date range.",
       {{"start_date", "first local day, YYYY-MM-DD", true},
        {"end_date", "last local day, YYYY-MM-DD (default: start_date)", false},
        {"threshold_pct", "how far above the fleet median counts as an anomaly, in percent (default 30)", false}},
       fuel_anomalies},
      {"explore_table",
       "Explore a table",
       "What a table or view holds, how to filter and join it, and questions it answers.",
       {{"schema", "schema of the table", true}, {"table", "table or view name", true}},
       explore_table},
  };
  return all;
}

core::Result<std::string> render(const Prompt& prompt, const Arguments& args) {
  for (const auto& a : prompt.arguments)
    if (a.required && arg(args, a.name).empty())
      return make_error(ErrorKind::BadRequest, "prompt '" + prompt.name + "' needs argument '" + a.name + "'");
  for (const auto& [name, value] : args) {
    bool known = false;
    for (const auto& a : prompt.arguments) known = known || a.name == name;
    if (!known) return make_error(ErrorKind::BadRequest, "prompt '" + prompt.name + "' has no argument '" + name + "'");
  }
  return prompt.render(args);
}

}  // namespace fleetmcp::prompts
