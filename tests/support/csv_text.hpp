// Reads back the text block of query and sample_table (CSV, then a footer
// line) and checks it holds exactly the rows of structuredContent.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace fleetmcp::testing {

// RFC 4180 lines of fields; nullopt is an unquoted empty field (NULL).
inline std::vector<std::vector<std::optional<std::string>>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::optional<std::string>>> lines;
  std::vector<std::optional<std::string>> line;
  std::string field;
  bool quoted = false, was_quoted = false;
  auto end_field = [&] {
    line.push_back(was_quoted || !field.empty() ? std::optional<std::string>(field) : std::nullopt);
    field.clear();
    was_quoted = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
        field += '"', ++i;
      else if (c == '"')
        quoted = false;
      else
        field += c;
    } else if (c == '"') {
      quoted = was_quoted = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n') {
      end_field();
      lines.push_back(std::move(line));
      line.clear();
    } else {
      field += c;
    }
  }
  return lines;
}

// The footer line when `text` holds the header and exactly the rows of
// `structured` (values compared as the text PostgreSQL would send).
inline ::testing::AssertionResult csv_matches(const std::string& text, const nlohmann::json& structured) {
  const auto cut = text.rfind('\n');
  if (cut == std::string::npos) return ::testing::AssertionFailure() << "no footer line in: " << text;
  const std::string footer = text.substr(cut + 1);
  auto table = parse_csv(text.substr(0, cut + 1));
  if (table.empty()) return ::testing::AssertionFailure() << "no header line in: " << text;
  const auto header = table.front();
  table.erase(table.begin());
  const auto& rows = structured.at("rows");
  const long long n = structured.at("row_count");
  if (static_cast<long long>(table.size()) != n || rows.size() != table.size())
    return ::testing::AssertionFailure() << table.size() << " CSV rows for row_count " << n << ": " << text;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    // (nlohmann's objects sort their keys: look each column up by name.)
    if (rows[r].size() != header.size() || table[r].size() != header.size())
      return ::testing::AssertionFailure() << "row " << r << " has other columns than the header in: " << text;
    for (std::size_t c = 0; c < header.size(); ++c) {
      if (!header[c] || !rows[r].contains(*header[c]))
        return ::testing::AssertionFailure() << "column " << c << " is not in row " << r << " of: " << text;
      const auto& want = rows[r].at(*header[c]);
      const auto& got = table[r][c];
      bool same;
      if (want.is_null())
        same = !got;
      else if (!got)
        same = false;
      else if (want.is_number())
        same = std::strtod(got->c_str(), nullptr) == want.get<double>();
      else if (want.is_string())
        same = *got == want.get<std::string>();
      else if (want.is_boolean())
        same = *got == (want.get<bool>() ? "true" : "false");
      else
        same = nlohmann::json::parse(*got) == want;
      if (!same)
        return ::testing::AssertionFailure()
               << *header[c] << " of row " << r << ": " << want.dump() << " vs " << (got ? *got : "NULL");
    }
  }
  const std::string start = "(" + std::to_string(n) + (n == 1 ? " row" : " rows");
  if (footer.rfind(start, 0) != 0) return ::testing::AssertionFailure() << "footer: " << footer;
  if ((footer.find("more rows exist") != std::string::npos) != structured.at("truncated").get<bool>())
    return ::testing::AssertionFailure() << "footer and truncated disagree: " << footer;
  return ::testing::AssertionSuccess() << footer;
}

}  // namespace fleetmcp::testing
