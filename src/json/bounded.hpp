// The one way untrusted JSON text becomes a document (HTTP and stdio bodies,
// record-API messages, check-sql lines): a linear scan refuses too deep a
// nesting and too long a string or array before any document is built, so no
// message can exhaust the stack or the heap of the parser behind it.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace fleetmcp::json {

struct Limits {
  std::size_t max_depth = 64;              // arrays and objects nested in one another
  std::size_t max_string_bytes = 1 << 20;  // one string or key, as written (escapes included)
  std::size_t max_elements = 100000;       // members of one array or object
};

struct Parsed {
  nlohmann::json value;  // discarded when !ok
  bool ok = false;
  bool too_large = false;  // a limit was passed (else: not valid JSON)
  std::string error;       // what was wrong, fit for the client
};

// The limits are checked first (one pass, no allocation beyond the depth's
// element counters), then the text is parsed without exceptions.
Parsed parse_bounded(std::string_view text, const Limits& limits = {});

// Only the limit check: the reason when `text` passes one, else empty.
std::string check_limits(std::string_view text, const Limits& limits = {});

// Whether JSON text nests no deeper than `limit`: one pass, no allocation
// (the row encoder's check of json values PostgreSQL returns).
bool nesting_within(std::string_view text, std::size_t limit);

// A whole number from a JSON number (10 and 10.0 alike) that fits a long long;
// nothing otherwise (1e300, 2^64, 1.5, "10").
std::optional<long long> whole_number(const nlohmann::json& v);

}  // namespace fleetmcp::json
