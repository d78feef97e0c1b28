// Rows of a libpq result written as JSON objects keyed by column, straight
// from libpq's buffer into the reply buffer.
#pragma once

#include <libpq-fe.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "json/writer.hpp"

namespace fleetmcp::json {

// What the encoder needs to know about a result's columns, worked out once.
struct Columns {
  // JSON-quoted keys with the colon. Repeated names (two "?column?", a join's
  // two "id") get _2, _3 suffixes so no value is silently dropped.
  std::vector<std::string> keys;
  std::vector<std::string> names;  // the same names, plain (for a CSV header)
  std::vector<ValueKind> kinds;
  std::vector<bool> hidden;  // left out of every row
  std::vector<std::string> hidden_names;
};

// Whether a column is left out, by its name and the table column it comes from
// (PQftable, PQftablecol: 0 when it is not a plain table column).
using HidePredicate = std::function<bool(std::string_view name, unsigned table_oid, int table_column)>;
Columns describe_columns(const PGresult* result, const HidePredicate& hide = nullptr);

// One value of a row as libpq holds it; data is null for SQL NULL.
struct Value {
  const char* data;
  int length;
};
// Reads row `row` of `result` once, for every encoder that writes it.
void read_row(const PGresult* result, int row, std::vector<Value>& values);

// Appends one row as {...}.
void append_row(std::string& out, const std::vector<Value>& values, const Columns& columns);
void append_row(std::string& out, const PGresult* result, int row, const Columns& columns);

// Appends rows [0, limit) as [{...},...]; returns how many were written.
int append_rows(std::string& out, const PGresult* result, int limit, const Columns& columns);

}  // namespace fleetmcp::json
