#include "sql/dialect.hpp"

#include <array>
#include <cctype>
#include <vector>

namespace fleetmcp::sql {
namespace {

// Words upper-cased, numbers, and single punctuation characters; string
// literals and comments skipped. Linear in the text, with no backtracking.
std::vector<std::string> tokens(std::string_view sql) {
  std::vector<std::string> out;
  std::size_t i = 0;
  const auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  while (i < sql.size()) {
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '\'') {  // a literal, '' inside it included
      for (++i; i < sql.size(); ++i)
        if (sql[i] == '\'' && !(i + 1 < sql.size() && sql[i + 1] == '\'' && ++i)) break;
      ++i;
      out.emplace_back("'");
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      const auto end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 2;
    } else if (word_char(c)) {
      std::string w;
      while (i < sql.size() && word_char(sql[i]))
        w += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++])));
      out.push_back(std::move(w));
    } else {
      out.emplace_back(1, c);
      ++i;
    }
  }
  return out;
}

bool number(const std::string& t) { return !t.empty() && std::isdigit(static_cast<unsigned char>(t[0])); }

bool unit(const std::string& t) {
  for (std::string_view u : {"YEAR", "MONTH", "WEEK", "DAY", "HOUR", "MINUTE", "SECOND"})
    if (t == u || t == std::string(u) + "S") return true;
  return false;
}

}  // namespace

std::string dialect_hints(std::string_view sql) {
  // Bounded: this runs only on a statement PostgreSQL's parser refused.
  const auto t = tokens(sql.substr(0, 256 * 1024));
  enum Hint { Interval, Backtick, Top, LimitComma, DateAdd, IfNull, Nvl, Dual, Rownum, Getdate, Brackets, kHints };
  static constexpr std::array<const char*, kHints> kText = {
      "INTERVAL 7 DAY is MySQL; PostgreSQL writes INTERVAL '7 days' (e.g. now() - INTERVAL '7 days')",
      "backticks quote names in MySQL; PostgreSQL uses double quotes (\"name\"), or none",
      "SELECT TOP n is SQL Server; PostgreSQL writes SELECT ... LIMIT n",
      "LIMIT offset, count is MySQL; PostgreSQL writes LIMIT count OFFSET offset",
      "DATE_ADD/DATE_SUB are MySQL; PostgreSQL writes ts + INTERVAL '1 day' (or - INTERVAL ...)",
      "IFNULL is MySQL; PostgreSQL writes coalesce(a, b)",
      "NVL is Oracle; PostgreSQL writes coalesce(a, b)",
      "FROM DUAL is Oracle; PostgreSQL needs no FROM: SELECT 1",
      "ROWNUM is Oracle; PostgreSQL writes LIMIT n (or row_number() OVER ())",
      "GETDATE()/SYSDATE are not PostgreSQL; write now() or current_date",
      "[name] quotes names in SQL Server; PostgreSQL uses double quotes (\"name\")",
  };
  std::array<bool, kHints> found{};
  const auto at = [&](std::size_t i) -> const std::string& {
    static const std::string none;
    return i < t.size() ? t[i] : none;
  };
  for (std::size_t i = 0; i < t.size(); ++i) {
    const std::string& w = t[i];
    const std::size_t n = i + (at(i + 1) == "-" ? 2 : 1);
    if (w == "INTERVAL" && number(at(n)) && unit(at(n + 1))) found[Interval] = true;
    if (w == "`") found[Backtick] = true;
    if (w == "SELECT") {
      const std::size_t k = i + (at(i + 1) == "DISTINCT" ? 2 : 1);
      if (at(k) == "TOP" && (number(at(k + 1)) || at(k + 1) == "(")) found[Top] = true;
    }
    if (w == "LIMIT" && number(at(i + 1)) && at(i + 2) == "," && number(at(i + 3))) found[LimitComma] = true;
    if ((w == "DATE_ADD" || w == "DATE_SUB") && at(i + 1) == "(") found[DateAdd] = true;
    if (w == "IFNULL" && at(i + 1) == "(") found[IfNull] = true;
    if (w == "NVL" && at(i + 1) == "(") found[Nvl] = true;
    if (w == "FROM" && at(i + 1) == "DUAL") found[Dual] = true;
    if (w == "ROWNUM") found[Rownum] = true;
    if ((w == "GETDATE" && at(i + 1) == "(") || w == "SYSDATE") found[Getdate] = true;
    // [name] where a name goes (an array subscript follows a value; ARRAY[...] is PostgreSQL).
    if (w == "[" && i > 0 && at(i + 2) == "]" && !number(at(i + 1)) && at(i + 1) != "'") {
      const std::string& before = t[i - 1];
      if (before == "SELECT" || before == "FROM" || before == "JOIN" || before == "," || before == "." ||
          before == "BY")
        found[Brackets] = true;
    }
  }
  std::string out;
  for (int h = 0; h < kHints; ++h)
    if (found[h]) out += (out.empty() ? "" : "\nHint: ") + std::string(kText[h]);
  return out;
}

}  // namespace fleetmcp::sql
