// Prompts grounded in the fleet schemas: each turns a few arguments into one
// user message that tells the model which relations answer the question and
// how to ask PostgreSQL for little (aggregates, date ranges) rather than much.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace fleetmcp::prompts {

struct Argument {
  std::string name, description;
  bool required = false;
};

using Arguments = std::map<std::string, std::string>;

struct Prompt {
  std::string name, title, description;
  std::vector<Argument> arguments;
  // The user message; BadRequest when an argument is missing or malformed.
  std::function<core::Result<std::string>(const Arguments&)> render;
};

const std::vector<Prompt>& fleet_prompts();

// Checks required arguments and unknown names, then renders.
core::Result<std::string> render(const Prompt& prompt, const Arguments& args);

}  // namespace fleetmcp::prompts
