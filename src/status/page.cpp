#include "status/page.hpp"

#include <cstdio>
#include <ctime>

#include "json/writer.hpp"

namespace fleetmcp::status {
namespace {

// Calls listed under "Running now": a full queue (MCP_QUEUE) is thousands.
constexpr std::size_t kRunningShown = 100;

constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:12px;color:#1b1f24;background:#f6f8fa}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 6px}
.meta{color:#57606a;margin-bottom:8px}
.cards{display:flex;flex-wrap:wrap;gap:8px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;min-width:90px}
.card b{display:block;font-size:20px}
.alert{background:#ffebe9;border:1px solid #ff8182;border-radius:6px;padding:8px 12px;margin:8px 0}
.scroll{overflow-x:auto;background:#fff;border:1px solid #d0d7de;border-radius:6px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top;overflow:hidden}
th{background:#f6f8fa;font-weight:600;white-space:nowrap}
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,monospace}
td.sql{min-width:22em}td.sql code{word-break:break-word}td.fp{white-space:nowrap}
.empty{color:#57606a;padding:6px 8px}
)";

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool blank = false;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v';
    if (space && blank) continue;
    out += space ? ' ' : c;
    blank = space;
  }
  return out;
}

std::string number(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string duration(double seconds) {
  if (seconds < 1) return number(seconds * 1000, 0) + " ms";
  if (seconds < 120) return number(seconds, 1) + " s";
  if (seconds < 7200) return number(seconds / 60, 1) + " min";
  if (seconds < 172800) return number(seconds / 3600, 1) + " h";
  return number(seconds / 86400, 1) + " d";
}

struct Table {
  std::string& out;
  Table(std::string& o, std::initializer_list<const char*> heads) : out(o) {
    out += "<div class=scroll><table><tr>";
    for (const char* h : heads) out += std::string("<th>") + h + "</th>";
    out += "</tr>";
  }
  ~Table() { out += "</table></div>"; }
  void text(std::string_view v) { out += "<td>" + html_escape(v) + "</td>"; }
  void num(const std::string& v) { out += "<td class=n>" + v + "</td>"; }
  void fingerprint(std::string_view v) { out += "<td class=fp><code>" + html_escape(v) + "</code></td>"; }
  // Wide enough to read: a narrow screen scrolls the table's box instead.
  // Whitespace runs (newlines) shown as one space: a statement cannot stretch the page.
  void sql(std::string_view v) { out += "<td class=sql><code>" + html_escape(one_line(v)) + "</code></td>"; }
  void row() { out += "<tr>"; }
  void end_row() { out += "</tr>"; }
};

void card(std::string& out, const char* label, const std::string& value) {
  out += "<div class=card>" + std::string(label) + "<b>" + value + "</b></div>";
}

void empty(std::string& out, const char* text) { out += std::string("<div class=\"scroll empty\">") + text + "</div>"; }

void shapes(std::string& out, const std::vector<metrics::Activity::ShapeView>& list) {
  if (list.empty()) return empty(out, "No query in the last hour.");
  Table t(out, {"Fingerprint", "Calls", "Errors", "Total", "Mean", "Slowest", "Tool", "Last analyst", "SQL"});
  for (const auto& s : list) {
    t.row();
    t.fingerprint(s.fingerprint);
    t.num(std::to_string(s.calls));
    t.num(std::to_string(s.errors));
    t.num(duration(s.seconds));
    t.num(duration(s.calls ? s.seconds / static_cast<double>(s.calls) : 0));
    t.num(duration(s.slowest));
    t.text(s.tool);
    t.text(s.last_analyst);
    t.sql(s.sql);
    t.end_row();
  }
}

std::string utc(std::chrono::system_clock::time_point at) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      const std::size_t n = json::utf8_length(text, i);
      if (!n) {
        out += "\xEF\xBF\xBD";
        ++i;
        continue;
      }
      // Bidirectional controls (U+200E/F, U+202A-E, U+2066-9) would reorder
      // what the operator reads, as in "Trojan source": shown as their names.
      const std::string_view seq = text.substr(i, n);
      if (n == 3 && seq[0] == '\xE2' &&
          ((seq[1] == '\x80' &&
            (seq[2] == '\x8E' || seq[2] == '\x8F' ||
             (static_cast<unsigned char>(seq[2]) >= 0xAA && static_cast<unsigned char>(seq[2]) <= 0xAE))) ||
           (seq[1] == '\x81' && static_cast<unsigned char>(seq[2]) >= 0xA6 &&
            static_cast<unsigned char>(seq[2]) <= 0xA9))) {
        const unsigned code = ((static_cast<unsigned char>(seq[0]) & 0x0F) << 12) |
                              ((static_cast<unsigned char>(seq[1]) & 0x3F) << 6) |
                              (static_cast<unsigned char>(seq[2]) & 0x3F);
        char name[16];
        std::snprintf(name, sizeof name, "&lt;U+%04X&gt;", code);
        out += name;
      } else {
        out.append(seq);
      }
      i += n;
      continue;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\n':
      case '\t': out += c; break;
      default: out += byte < 0x20 || byte == 0x7F ? std::string_view("\xEF\xBF\xBD") : std::string_view(&c, 1);
    }
    ++i;
  }
  return out;
}

std::string render(const View& v) {
  const auto& g = v.gauges;
  std::string out;
  out.reserve(16384);
  out +=
      "<!doctype html><html lang=en><head><meta charset=utf-8>"
      "<meta name=viewport content=\"width=device-width,initial-scale=1\">"
      "<meta http-equiv=refresh content=\"" +
      std::to_string(v.refresh_seconds) +
      "\">"
      "<title>fleetmcp status</title><style>" +
      std::string(kStyle) + "</style></head><body>";
  out += "<h1>fleetmcp status</h1><div class=meta>version " + html_escape(v.version) + " · up " +
         duration(v.uptime_seconds) + " · " + html_escape(v.now_utc) + " · refreshes every " +
         std::to_string(v.refresh_seconds) + " s</div>";
  if (g.login_refused)
    out +=
        "<div class=alert>PostgreSQL refuses the server's login: calls fail until DATABASE_URL or the role "
        "is fixed (see the log).</div>";
  if (g.role_unsafe)
    out +=
        "<div class=alert>The database role can write or administer (served under MCP_ALLOW_UNSAFE_ROLE): "
        "see the role self-audit below.</div>";

  out += "<div class=cards>";
  card(out, "Running", std::to_string(v.running.size()));
  card(out, "Pool busy", std::to_string(g.pool_busy) + " / " + std::to_string(g.pool_max));
  card(out, "Idle", std::to_string(g.pool_idle));
  card(out, "Connecting", std::to_string(g.pool_connecting));
  card(out, "Waiting", std::to_string(g.pool_waiting));
  card(out, "Clients", std::to_string(g.http_connections));
  card(out, "WebSocket", std::to_string(g.websocket_connections));
  out += "</div>";

  out += "<h2 id=running>Running now</h2>";
  if (v.running.empty()) {
    empty(out, "Nothing is running.");
  } else {
    Table t(out, {"Analyst", "Tool", "Elapsed", "Rows so far", "Fingerprint", "SQL"});
    std::size_t shown = 0;
    for (const auto& r : v.running) {
      if (++shown > kRunningShown) break;
      t.row();
      t.text(r.analyst);
      t.text(r.tool);
      t.num(duration(r.seconds));
      t.num(std::to_string(r.rows));
      t.fingerprint(r.fingerprint);
      t.sql(r.sql);
      t.end_row();
    }
  }
  if (v.running.size() > kRunningShown)
    out += "<div class=meta>and " + std::to_string(v.running.size() - kRunningShown) +
           " more (the longest-running are shown).</div>";

  out += "<h2>Pool</h2>";
  {
    Table t(out, {"Max", "Busy", "Idle", "Connecting", "Waiting", "Opened", "Closed", "Failed connects"});
    t.row();
    for (const auto n :
         {static_cast<std::uint64_t>(g.pool_max), static_cast<std::uint64_t>(g.pool_busy),
          static_cast<std::uint64_t>(g.pool_idle), static_cast<std::uint64_t>(g.pool_connecting),
          static_cast<std::uint64_t>(g.pool_waiting), g.pool_opened, g.pool_closed, g.pool_connect_failures})
      t.num(std::to_string(n));
    t.end_row();
  }

  out += "<h2 id=by-time>Heaviest query shapes, last hour, by total time</h2>";
  shapes(out, v.by_time);
  out += "<h2 id=by-count>Most frequent query shapes, last hour</h2>";
  shapes(out, v.by_count);
  out += "<div class=meta>" + std::to_string(v.shapes) + " shapes known (at most " +
         std::to_string(metrics::Activity::kMaxShapes) + ", the least recently seen giving way to a new one)";
  if (v.shapes_evicted)
    out += "; " + std::to_string(v.shapes_evicted) +
           " shapes seen within the hour were pushed out, so the totals above may be low: many distinct "
           "statements are arriving (see Analysts and the audit log)";
  out += ".</div>";

  out += "<h2 id=analysts>Analysts</h2>";
  if (v.analysts.empty()) {
    empty(out, "No tool call yet.");
  } else {
    Table t(out, {"Analyst", "Calls", "Errors", "Refused", "Rows", "Time"});
    for (const auto& a : v.analysts) {
      t.row();
      t.text(a.name);
      t.num(std::to_string(a.calls));
      t.num(std::to_string(a.errors));
      t.num(std::to_string(a.denied));
      t.num(std::to_string(a.rows));
      t.num(duration(a.seconds));
      t.end_row();
    }
  }

  out += "<h2 id=rejections>Guard rejections</h2>";
  if (v.rejections_by_rule.empty()) {
    empty(out, "No statement refused.");
  } else {
    {
      Table t(out, {"Rule", "Count"});
      for (const auto& [rule, n] : v.rejections_by_rule) {
        t.row();
        t.text(rule);
        t.num(std::to_string(n));
        t.end_row();
      }
    }
    out += "<h2>Latest rejections</h2>";
    Table t(out, {"Time (UTC)", "Analyst", "Rule", "SQL"});
    for (const auto& r : v.recent_rejections) {
      t.row();
      t.num(utc(r.at));
      t.text(r.analyst);
      t.text(r.rule);
      t.sql(r.sql);
      t.end_row();
    }
  }

  out += "<h2 id=role>Role self-audit</h2>";
  if (!v.role.done) {
    empty(out, "Not run yet: the database has not been reached since the server started.");
  } else {
    out +=
        "<div class=meta>role " + html_escape(v.role.role) + " on database " + html_escape(v.role.database) + "</div>";
    if (v.role.findings.empty()) {
      empty(out, "No finding: the role can read and nothing more.");
    } else {
      Table t(out, {"Severity", "Finding", "What"});
      for (const auto& f : v.role.findings) {
        t.row();
        t.text(f.severity);
        t.text(f.kind);
        t.text(f.what);
        t.end_row();
      }
    }
  }
  out += "</body></html>";
  return out;
}

}  // namespace fleetmcp::status
