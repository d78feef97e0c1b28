// The text block a model reads for rows: CSV (RFC 4180, LF line ends),
// written straight into the content of a JSON string, so the reply carries it
// without a second pass. A field is quoted when it holds a comma, a quote, CR
// or LF, and the empty string is written "" so that it differs from NULL,
// which is written as nothing (as PostgreSQL's COPY ... CSV does). Booleans
// are true/false, every other value PostgreSQL's text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "json/rows.hpp"

namespace fleetmcp::json {

// Appends one field, escaped for a JSON string.
void append_csv_field(std::string& out, std::string_view value);

// The column names (hidden ones left out), then a line end.
void append_csv_header(std::string& out, const Columns& columns);

// One row (see read_row), then a line end.
void append_csv_row(std::string& out, const std::vector<Value>& values, const Columns& columns);

// The row as append_row writes it to `object` and as append_csv_row writes it
// to `csv`, byte for byte, in one pass where no value needs escaping or
// quoting (most rows): their sizes are known first, so each buffer grows once
// and the values are copied straight in.
void append_object_and_csv_line(std::string& object, std::string& csv, const std::vector<Value>& values,
                                const Columns& columns);

}  // namespace fleetmcp::json
