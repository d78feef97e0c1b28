// The pure front of the JSON-RPC core: a request body and its transport
// headers in, either a checked envelope or the protocol error to send back.
// No Asio, no database: unit tests and the fuzzer call it directly.
//
// Era is chosen per request, as the 2026-07-28 versioning rules say: a request
// whose params._meta carries io.modelcontextprotocol/protocolVersion is modern
// (stateless, no handshake); anything else is legacy (initialize selects
// 2025-11-25 or 2025-06-18).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "json/bounded.hpp"

namespace fleetmcp::mcp {

inline constexpr const char* kModernVersion = "2026-07-28";
inline constexpr const char* kLegacyVersions[] = {"2025-11-25", "2025-06-18"};
inline constexpr const char* kMetaVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char* kMetaCapabilities = "io.modelcontextprotocol/clientCapabilities";

// The MCP headers of an HTTP request; all absent on stdio.
struct Headers {
  bool http = false;
  std::optional<std::string> protocol_version;  // MCP-Protocol-Version
  std::optional<std::string> method;            // Mcp-Method
  std::optional<std::string> name;              // Mcp-Name
  std::map<std::string, std::string> params;    // Mcp-Param-{name}, by lower-case name
};

// What to send back. An empty body means "accepted, nothing to say" (HTTP 202;
// nothing at all on stdio).
struct Reply {
  int status = 200;
  std::string body;
  bool rpc_error = false;  // the body is a JSON-RPC error (for the metrics)
  int retry_after_s = 0;   // with status 429: the Retry-After header
};

// A well-formed request or notification of a supported era.
struct Envelope {
  nlohmann::json id;  // null for notifications
  bool notification = false;
  std::string method;
  nlohmann::json params;  // always an object
  bool modern = false;
};

// Per tool, the (argument, header name) pairs its input schema mirrors into
// Mcp-Param-* headers (x-mcp-header); modern HTTP requests must match them.
using MirroredParams = std::map<std::string, std::vector<std::pair<std::string, std::string>>, std::less<>>;

// How deeply and how largely a message may be built (see json/bounded.hpp).
inline constexpr fleetmcp::json::Limits kMessageLimits{};

std::variant<Envelope, Reply> read_envelope(std::string_view body, const Headers& headers,
                                            const MirroredParams& mirrored);

nlohmann::json supported_versions();
bool is_legacy_version(std::string_view version);
// Mcp-Name and Mcp-Param-* may carry non-ASCII values as =?base64?...?=.
std::string decode_header_value(const std::string& value);

Reply error_reply(int status, const nlohmann::json& id, int code, const std::string& message,
                  const nlohmann::json& data = nullptr);

}  // namespace fleetmcp::mcp
