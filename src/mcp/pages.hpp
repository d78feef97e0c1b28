// Opaque cursors for the list methods. A cursor names its list and an offset,
// so one list's cursor is refused by another; clients must not parse them.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace fleetmcp::mcp {

std::string encode_cursor(std::string_view list, std::size_t offset);
// The offset a request's `cursor` param points at: 0 when there is none,
// nullopt when it is not one of ours.
std::optional<std::size_t> decode_cursor(std::string_view list, const nlohmann::json& cursor);

}  // namespace fleetmcp::mcp
