// Values bound as text parameters: one way to pass a list to PostgreSQL.
#pragma once

#include <cctype>
#include <string>
#include <vector>

namespace fleetmcp::pg {

// {"a","b"}: a text[] literal for a $n::text[] parameter (never spliced into
// SQL); `lower` folds each item to lower case, as unquoted names fold.
inline std::string text_array(const std::vector<std::string>& items, bool lower = false) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += lower ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace fleetmcp::pg
