// The SQL guard: decides on PostgreSQL's own parse tree (libpg_query) whether a
// statement may run, and returns exactly the text that will run. One of four
// read-only layers (role grants, read-only transaction, rollback, this).
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace fleetmcp::sql {

// What the guard accepts. The defaults are the safe ones; the lists live in guard.cpp.
struct Policy {
  bool allow_select = true;
};

struct ValidatedStatement {
  std::string text;         // the statement's own text from the parse tree, plus "\n"
  std::string fingerprint;  // pg_query_fingerprint, groups identical queries in audit
  int start_position = 1;   // 1-based character position of `text` in the input
};

// Rejections are ErrorKind::Denied with rule set, a message naming the offending
// construct, and a 1-based position into `sql`.
core::Result<ValidatedStatement> validate(std::string_view sql, const Policy& policy = {});

// Always-quoted identifier, safe to splice: "a""b" for a"b.
std::string quote_identifier(std::string_view name);

// A caret line under the offending position, for error texts shown to analysts.
std::string caret_excerpt(std::string_view sql, int position);

}  // namespace fleetmcp::sql
