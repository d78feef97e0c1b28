// Strict tool arguments: what a tool's inputSchema declares is what it takes.
// An unknown name (with the nearest declared one), a wrong type, a value
// outside the declared bounds or a missing required argument is an error that
// names the argument, so a model corrects its call instead of getting an
// answer to a question it did not ask.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/result.hpp"

namespace fleetmcp::tools {

// Checks `args` (an object) against the subset of JSON Schema the tools'
// inputSchema use: properties, required, and per property type, minimum,
// maximum, enum, minLength, maxLength. `tool` names the tool in messages.
core::Status check_arguments(const std::string& tool, const nlohmann::json& schema, const nlohmann::json& args);

}  // namespace fleetmcp::tools
