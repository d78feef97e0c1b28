#include "json/bounded.hpp"

#include <climits>
#include <cmath>
#include <cstdint>

#include <vector>

namespace fleetmcp::json {

namespace {

// Where a byte-at-a-time scan of JSON text is: inside a string (whose bytes,
// quotes included, say nothing about structure) or not.
struct Strings {
  bool inside = false, escaped = false;
  // Whether c belongs to a string, its quotes included.
  bool take(char c) {
    if (inside) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        inside = false;
      return true;
    }
    return inside = c == '"';
  }
};

}  // namespace

std::string check_limits(std::string_view text, const Limits& limits) {
  // Members per open container; a container with n separators has n+1 members.
  std::vector<std::size_t> members;
  members.reserve(16);
  Strings strings;
  std::size_t string_bytes = 0;
  for (const char c : text) {
    const bool was_inside = strings.inside;
    if (strings.take(c)) {
      if (!was_inside)
        string_bytes = 0;
      else if (++string_bytes > limits.max_string_bytes)
        return "a string is longer than " + std::to_string(limits.max_string_bytes) + " bytes";
      continue;
    }
    switch (c) {
      case '[':
      case '{':
        if (members.size() >= limits.max_depth)
          return "nesting is deeper than " + std::to_string(limits.max_depth) + " levels";
        members.push_back(1);
        break;
      case ']':
      case '}':
        if (!members.empty()) members.pop_back();  // unbalanced: the parser says so
        break;
      case ',':
        if (!members.empty() && ++members.back() > limits.max_elements)
          return "an array or object has more than " + std::to_string(limits.max_elements) + " members";
        break;
      default: break;
    }
  }
  return {};
}

bool nesting_within(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  Strings strings;
  for (const char c : text) {
    if (strings.take(c)) continue;
    if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if (c == ']' || c == '}') {
      if (depth) --depth;
    }
  }
  return true;
}

Parsed parse_bounded(std::string_view text, const Limits& limits) {
  Parsed out;
  if (std::string reason = check_limits(text, limits); !reason.empty()) {
    out.too_large = true;
    out.error = "message refused: " + reason;
    return out;
  }
  // nlohmann takes a zero byte for the end of input: what followed it would be ignored.
  if (text.find('\0') != std::string_view::npos) {
    out.error = "the message is not valid JSON (it contains a zero byte)";
    return out;
  }
  out.value = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  out.ok = !out.value.is_discarded();
  if (!out.ok) out.error = "the message is not valid JSON";
  return out;
}

std::optional<long long> whole_number(const nlohmann::json& v) {
  if (v.is_number_unsigned())
    return v.get<std::uint64_t>() > static_cast<std::uint64_t>(LLONG_MAX)
               ? std::nullopt
               : std::optional<long long>(v.get<long long>());
  if (v.is_number_integer()) return v.get<long long>();
  if (v.is_number_float()) {
    // The range check first: converting a double out of range is undefined.
    const double d = v.get<double>();
    if (d >= -9.2e18 && d <= 9.2e18 && std::trunc(d) == d) return static_cast<long long>(d);
  }
  return std::nullopt;
}

}  // namespace fleetmcp::json
