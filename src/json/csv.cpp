#include "json/csv.hpp"

#include "json/writer.hpp"

namespace fleetmcp::json {

namespace {

bool needs_quotes(std::string_view value) {
  if (value.empty()) return true;  // "" is the empty string; nothing is NULL
  for (const char c : value)
    if (c == ',' || c == '"' || c == '\n' || c == '\r') return true;
  return false;
}

}  // namespace

void append_csv_field(std::string& out, std::string_view value) {
  if (!needs_quotes(value)) {
    append_escaped(out, value);
    return;
  }
  out.append("\\\"");
  for (std::size_t quote; (quote = value.find('"')) != std::string_view::npos;) {
    append_escaped(out, value.substr(0, quote));
    out.append("\\\"\\\"");
    value.remove_prefix(quote + 1);
  }
  append_escaped(out, value);
  out.append("\\\"");
}

void append_csv_header(std::string& out, const Columns& columns) {
  bool first = true;
  for (std::size_t c = 0; c < columns.names.size(); ++c) {
    if (columns.hidden[c]) continue;
    if (!first) out.push_back(',');
    first = false;
    append_csv_field(out, columns.names[c]);
  }
  out.append("\\n");
}

void append_csv_row(std::string& out, const std::vector<Value>& values, const Columns& columns) {
  bool first = true;
  for (std::size_t c = 0; c < columns.names.size(); ++c) {
    if (columns.hidden[c]) continue;
    if (!first) out.push_back(',');
    first = false;
    if (!values[c].data) continue;
    const std::string_view v(values[c].data, static_cast<std::size_t>(values[c].length));
    if (columns.kinds[c] == ValueKind::Boolean)
      out.append(v == "t" ? "true" : "false");
    else
      append_csv_field(out, v);
  }
  out.append("\\n");
}

}  // namespace fleetmcp::json
