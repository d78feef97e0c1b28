// The guard's reviewed exceptions, in one place. Everything else is decided by
// the catalog: stable and immutable functions pass, volatile ones do not. These
// lists only narrow or widen that rule where volatility tells the wrong story;
// each entry says why. Change them here and nowhere else, with a review.
#pragma once

#include <string_view>

namespace fleetmcp::sql {

// Case-insensitive (ASCII) equality, as names compare once PostgreSQL folds them.
bool iequals(std::string_view a, std::string_view b);

// Why a function is refused whatever its volatility (it runs SQL text, reads
// tables behind the guard's back, touches files, settings, other sessions,
// locks or the network), or nullptr when it is not on the list. Matched on the
// name in any schema, so an extension installed elsewhere is covered too.
const char* denied_function_reason(std::string_view name);

// Why a volatile function may run anyway (it only reads), or nullptr.
const char* allowed_volatile_reason(std::string_view name);

// Settings SHOW and current_setting() may reveal: the planner, time zone,
// encodings, versions and the like. Custom settings (`prefix.name`, where
// applications keep secrets) never.
bool readable_setting(std::string_view name);

// Why a relation is refused (secrets, other sessions' SQL or activity
// counters, settings, column statistics), or nullptr. Matched in pg_catalog or
// unqualified; pg_stat_statements* in any schema (an extension's).
const char* refused_relation_reason(std::string_view schema, std::string_view name);

}  // namespace fleetmcp::sql
