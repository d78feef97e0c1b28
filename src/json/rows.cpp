#include "json/rows.hpp"

#include <set>

#include "json/writer.hpp"

namespace fleetmcp::json {

std::vector<std::string> column_keys(const PGresult* result) {
  const int n = PQnfields(result);
  std::vector<std::string> keys;
  std::set<std::string> seen;
  keys.reserve(n);
  for (int c = 0; c < n; ++c) {
    std::string name = PQfname(result, c);
    std::string key = name;
    for (int k = 2; !seen.insert(key).second; ++k) key = name + "_" + std::to_string(k);
    std::string quoted_key;
    append_string(quoted_key, key);
    quoted_key.push_back(':');
    keys.push_back(std::move(quoted_key));
  }
  return keys;
}

int append_rows(std::string& out, const PGresult* result, int limit, const std::vector<bool>& hidden) {
  const int rows = std::min(PQntuples(result), limit);
  const int cols = PQnfields(result);
  const auto keys = column_keys(result);
  std::vector<ValueKind> kinds(cols);
  for (int c = 0; c < cols; ++c) kinds[c] = kind_for_oid(PQftype(result, c));
  out.push_back('[');
  for (int r = 0; r < rows; ++r) {
    if (r) out.push_back(',');
    out.push_back('{');
    bool first = true;
    for (int c = 0; c < cols; ++c) {
      if (!hidden.empty() && hidden[c]) continue;
      if (!first) out.push_back(',');
      first = false;
      out.append(keys[c]);
      if (PQgetisnull(result, r, c))
        append_value(out, kinds[c], nullptr, 0);
      else
        append_value(out, kinds[c], PQgetvalue(result, r, c), PQgetlength(result, r, c));
    }
    out.push_back('}');
  }
  out.push_back(']');
  return rows;
}

}  // namespace fleetmcp::json
