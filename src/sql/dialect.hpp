// Constructs from other SQL dialects that PostgreSQL refuses with a bare
// "syntax error", and their PostgreSQL form: what a model most often writes
// first when it guesses the database wrong.
#pragma once

#include <string>
#include <string_view>

namespace fleetmcp::sql {

// One hint per construct found in `sql` ("INTERVAL 7 DAY is MySQL; ..."),
// joined by "\nHint: " (the caller writes the first); empty when none is.
std::string dialect_hints(std::string_view sql);

}  // namespace fleetmcp::sql
