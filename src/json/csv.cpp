#include "json/csv.hpp"

#include "json/writer.hpp"

namespace fleetmcp::json {

void append_csv_field(std::string& out, std::string_view value) {
  if (!value.empty() && value.find_first_of(",\"\r\n") == std::string_view::npos) {
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

void append_csv_row(std::string& out, const PGresult* result, int row, const Columns& columns) {
  bool first = true;
  for (std::size_t c = 0; c < columns.names.size(); ++c) {
    if (columns.hidden[c]) continue;
    if (!first) out.push_back(',');
    first = false;
    const int col = static_cast<int>(c);
    if (PQgetisnull(result, row, col)) continue;
    const std::string_view v(PQgetvalue(result, row, col), static_cast<std::size_t>(PQgetlength(result, row, col)));
    if (columns.kinds[c] == ValueKind::Boolean)
      out.append(v == "t" ? "true" : "false");
    else
      append_csv_field(out, v);
  }
  out.append("\\n");
}

}  // namespace fleetmcp::json
