#include "json/rows.hpp"

#include <algorithm>
#include <set>

namespace fleetmcp::json {

Columns describe_columns(const PGresult* result, const HidePredicate& hide) {
  const int n = PQnfields(result);
  Columns c;
  std::set<std::string> seen;
  for (int i = 0; i < n; ++i) {
    const std::string name = PQfname(result, i);
    std::string key = name;
    for (int k = 2; !seen.insert(key).second; ++k) key = name + "_" + std::to_string(k);
    std::string quoted_key;
    append_string(quoted_key, key);
    quoted_key.push_back(':');
    c.keys.push_back(std::move(quoted_key));
    c.names.push_back(std::move(key));
    c.kinds.push_back(kind_for_oid(PQftype(result, i)));
    const bool hidden = hide && hide(name, PQftable(result, i), PQftablecol(result, i));
    c.hidden.push_back(hidden);
    if (hidden) c.hidden_names.push_back(name);
  }
  return c;
}

void read_row(const PGresult* result, int row, std::vector<Value>& values) {
  const int n = PQnfields(result);
  values.resize(static_cast<std::size_t>(n));
  for (int c = 0; c < n; ++c) {
    const int length = PQgetlength(result, row, c);  // a NULL has length 0: ask only then
    values[c] =
        length == 0 && PQgetisnull(result, row, c) ? Value{nullptr, 0} : Value{PQgetvalue(result, row, c), length};
  }
}

void append_row(std::string& out, const std::vector<Value>& values, const Columns& columns) {
  out.push_back('{');
  bool first = true;
  for (std::size_t c = 0; c < columns.keys.size(); ++c) {
    if (columns.hidden[c]) continue;
    if (!first) out.push_back(',');
    first = false;
    out.append(columns.keys[c]);
    append_value(out, columns.kinds[c], values[c].data, values[c].length);
  }
  out.push_back('}');
}

void append_row(std::string& out, const PGresult* result, int row, const Columns& columns) {
  std::vector<Value> values;
  read_row(result, row, values);
  append_row(out, values, columns);
}

int append_rows(std::string& out, const PGresult* result, int limit, const Columns& columns) {
  const int rows = std::min(PQntuples(result), limit);
  std::vector<Value> values;
  out.push_back('[');
  for (int r = 0; r < rows; ++r) {
    if (r) out.push_back(',');
    read_row(result, r, values);
    append_row(out, values, columns);
  }
  out.push_back(']');
  return rows;
}

}  // namespace fleetmcp::json
