// How errors leave the server, decided in one place: JSON-RPC error objects for
// protocol errors, and isError tool results (with PostgreSQL's message,
// SQLSTATE and position) for everything that went wrong inside a tool.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/result.hpp"

namespace fleetmcp::mcp {

enum RpcCode {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
  kResourceNotFound = -32002,  // legacy revisions only; modern ones use kInvalidParams
  kHeaderMismatch = -32020,
  kCallerLimit = -32029,  // over the caller's calls per minute or calls at once (HTTP 429)
  kUnsupportedVersion = -32022,
};

// {"jsonrpc":"2.0","id":...,"error":{...}}; id null when it could not be read.
std::string rpc_error(const nlohmann::json& id, int code, const std::string& message,
                      const nlohmann::json& data = nullptr);

// The text an analyst reads for a failed call: the message, PostgreSQL's
// detail and hint, the position with a caret (the record API's errors).
std::string tool_error_text(const core::Error& error, std::string_view sql);

// The same for a model's tool call, then what it most likely meant (another
// dialect's syntax) and a last line, "Next: ...", with the step to take.
std::string model_error_text(const core::Error& error, std::string_view sql);

}  // namespace fleetmcp::mcp
