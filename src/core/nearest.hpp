// Names close to a misspelled one, for errors that suggest what was meant
// ("maxrows" -> max_rows, "vehicle" -> vehicles).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fleetmcp::core {

// Case-insensitive edit distance (insertions, deletions, substitutions and
// swaps of neighbours each cost 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

// Up to `most` candidates near `word`, nearest first: within about a third
// of the word's length in edits, or containing it / contained in it.
std::vector<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates,
                                 std::size_t most = 3);

// "'a', 'b' or 'c'" (empty for no names).
std::string quoted_list(const std::vector<std::string>& names, std::string_view last_joiner = " or ");

}  // namespace fleetmcp::core
