// The names of fleetmcp's resources: fleetmcp://overview, and
// fleetmcp://table/{schema}/{table} and fleetmcp://function/{schema}/{function}
// with each name percent-encoded as one path segment (RFC 3986). Pure, so the
// prompts can name a table's resource without the resources' database code.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fleetmcp::resources {

inline constexpr const char* kOverviewUri = "fleetmcp://overview";
inline constexpr const char* kTableTemplate = "fleetmcp://table/{schema}/{table}";
inline constexpr const char* kFunctionTemplate = "fleetmcp://function/{schema}/{function}";

// Percent-encoding of one path segment (everything but unreserved characters),
// and its inverse (nullopt when malformed, empty, or holding a '/' or a zero byte).
std::string encode_segment(std::string_view s);
std::optional<std::string> decode_segment(std::string_view s);

// kind: "table" or "function".
std::string object_uri(std::string_view kind, std::string_view schema, std::string_view name);

struct ObjectName {
  std::string kind;  // "table" or "function"
  std::string schema;
  std::string name;
};
// The object a table or function URI names; nullopt for anything else.
std::optional<ObjectName> parse_object_uri(std::string_view uri);

}  // namespace fleetmcp::resources
