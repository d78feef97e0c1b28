// How errors leave the server, decided in one place: the JSON-RPC codes and
// error objects of protocol errors, the
// text of isError tool results (PostgreSQL's message, SQLSTATE and position)
// for everything that went wrong inside a tool, and the record API's error
// frames.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/result.hpp"

namespace fleetmcp::errors {

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

// The code for a core::Error that ends a request outside a tool (a resource,
// a completion): an unknown name is kResourceNotFound in the legacy
// revisions and kInvalidParams in the modern one, bad arguments
// kInvalidParams, anything else kInternalError.
int rpc_code(const core::Error& error, bool modern);

// {"jsonrpc":"2.0","id":...,"error":{...}}; id null when it could not be read.
std::string rpc_error(const nlohmann::json& id, int code, const std::string& message,
                      const nlohmann::json& data = nullptr);

// The text an analyst reads for a failed call: the message, PostgreSQL's
// detail and hint, the position with a caret (the record API's errors).
std::string tool_error_text(const core::Error& error, std::string_view sql);

// A record API error frame's text: the server's own refusals (bad requests,
// denied models) as they are, the database path's as for the SQL tools.
std::string record_error_text(const core::Error& error);

// The same as tool_error_text for a model's tool call, then what it most likely meant (another
// dialect's syntax) and a last line, "Next: ...", with the step to take.
std::string model_error_text(const core::Error& error, std::string_view sql);

}  // namespace fleetmcp::errors
