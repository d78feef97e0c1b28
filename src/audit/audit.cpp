#include "audit/audit.hpp"

#include <chrono>
#include <ctime>
#include <utility>

#include "json/writer.hpp"

namespace fleetmcp::audit {
namespace {

// UTC, to the millisecond: 2026-05-01T09:12:44.123Z
std::string timestamp() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t secs = system_clock::to_time_t(now);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return ts;
}

}  // namespace

std::string Sink::format(const Record& r, std::size_t sql_max) {
  std::string line = "{\"ts\":\"" + timestamp();
  line += "\",\"audit\":";
  json::append_string(line, r.kind);
  line += ",\"caller\":";
  json::append_string(line, r.caller);
  for (const auto& [name, value] : {std::pair{",\"policy\":", &r.policy}, {",\"token_id\":", &r.token_id}})
    if (!value->empty()) {
      line += name;
      json::append_string(line, *value);
    }
  line += r.kind == "tool_call" ? ",\"tool\":" : ",\"method\":";
  json::append_string(line, r.tool);
  if (!r.subject.empty()) {
    line += ",\"subject\":";
    json::append_string(line, r.subject);
  }
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
  if (!r.cause.empty()) {
    line += ",\"cause\":";
    json::append_string(line, r.cause);
  }
  line += "}\n";
  return line;
}

void Record::failed_with(const core::Error& e) {
  outcome = e.kind == core::ErrorKind::Denied ? "denied" : "error";
  error = std::string(core::kind_name(e.kind));
  sqlstate = e.sqlstate;
  rule = e.rule;
  // Only this kind's message is the operator's business alone (never the data's).
  if (e.kind == core::ErrorKind::Unavailable) cause = e.message;
}

void Record::took_since(std::chrono::steady_clock::time_point started) {
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  seconds = std::chrono::duration<double>(elapsed).count();
}

void Sink::write(const Record& r) {
  emit(format(r, sql_max_));
  if (on_record_) on_record_(r);
}

void Sink::emit(const std::string& line) {
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

std::string Sink::format_unauthorized(std::string_view remote, std::string_view reason, long long suppressed) {
  std::string line = "{\"ts\":\"" + timestamp() + "\",\"audit\":\"unauthorized\",\"caller\":null,\"remote\":";
  json::append_string(line, remote);
  line += ",\"reason\":";
  json::append_string(line, reason);
  if (suppressed) line += ",\"suppressed\":" + std::to_string(suppressed);
  return line + "}\n";
}

void Sink::unauthorized(std::string_view remote, std::string_view reason) {
  if (on_unauthorized_) on_unauthorized_();
  const long long second =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  long long suppressed;
  {
    std::lock_guard lock(mu_);
    if (second != unauthorized_second_) {
      unauthorized_second_ = second;
      unauthorized_in_second_ = 0;
    }
    if (++unauthorized_in_second_ > kUnauthorizedPerSecond) {
      ++unauthorized_suppressed_;
      return;
    }
    suppressed = std::exchange(unauthorized_suppressed_, 0);
  }
  emit(format_unauthorized(remote, reason, suppressed));
}

}  // namespace fleetmcp::audit
