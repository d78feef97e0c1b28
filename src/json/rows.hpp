// Rows of a libpq result written as a JSON array of objects keyed by column,
// straight from libpq's buffer into the reply buffer.
#pragma once

#include <libpq-fe.h>

#include <string>
#include <vector>

namespace fleetmcp::json {

// Column keys, JSON-quoted once per result. Repeated names (two "?column?", or
// a join's two "id") get _2, _3 suffixes so no value is silently dropped.
std::vector<std::string> column_keys(const PGresult* result);

// Appends rows [0, limit) as [{...},...], leaving out the columns whose
// `hidden` flag is set (empty: none); returns how many rows were written.
int append_rows(std::string& out, const PGresult* result, int limit,
                const std::vector<bool>& hidden = {});

}  // namespace fleetmcp::json
