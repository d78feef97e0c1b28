#include "audit/audit.hpp"

#include <chrono>
#include <ctime>

#include "json/writer.hpp"

namespace fleetmcp::audit {

std::string Sink::format(const Record& r, std::size_t sql_max) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t secs = system_clock::to_time_t(now);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));

  std::string line = "{\"ts\":\"";
  line += ts;
  line += "\",\"audit\":\"tool_call\",\"caller\":";
  json::append_string(line, r.caller);
  line += ",\"tool\":";
  json::append_string(line, r.tool);
  if (!r.fingerprint.empty()) {
    line += ",\"fingerprint\":";
    json::append_string(line, r.fingerprint);
  }
  if (!r.sql.empty()) {
    line += ",\"sql\":";
    if (r.sql.size() > sql_max) {
      // Cut at a character boundary so the line stays valid UTF-8.
      std::size_t cut = sql_max;
      while (cut > 0 && (static_cast<unsigned char>(r.sql[cut]) & 0xC0) == 0x80) --cut;
      json::append_string(line, r.sql.substr(0, cut) + "…");
    } else {
      json::append_string(line, r.sql);
    }
  }
  if (r.rows >= 0) line += ",\"rows\":" + std::to_string(r.rows);
  line += ",\"truncated\":";
  line += r.truncated ? "true" : "false";
  line += ",\"ms\":" + std::to_string(r.ms) + ",\"outcome\":";
  json::append_string(line, r.outcome);
  if (!r.sqlstate.empty()) {
    line += ",\"sqlstate\":";
    json::append_string(line, r.sqlstate);
  }
  if (!r.error.empty()) {
    line += ",\"error\":";
    json::append_string(line, r.error);
  }
  if (!r.rule.empty()) {
    line += ",\"rule\":";
    json::append_string(line, r.rule);
  }
  line += "}\n";
  return line;
}

void Sink::write(const Record& r) {
  const std::string line = format(r, sql_max_);
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace fleetmcp::audit
