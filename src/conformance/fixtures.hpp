// The official conformance suite's fixture tools, resources and prompts
// (test_simple_text, test://static-text, test_simple_prompt, ...), served only
// with `--conformance-fixtures`, which main() accepts on a loopback test
// server alone. They touch no database; they exist so the suite's scenarios
// for content types, logging, progress, multi-round input (MRTR), resource
// templates and custom headers exercise fleetmcp's protocol code.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

namespace fleetmcp::conformance {

using Emit = std::function<boost::asio::awaitable<bool>(std::string notification)>;

// A JSON-RPC error the dispatcher sends as is (with its HTTP status).
struct Failure {
  int status = 200;
  int code = 0;
  std::string message;
  nlohmann::json data;
};

// A result object (without the era's envelope), or an error.
using Outcome = std::variant<nlohmann::json, Failure>;

struct Call {
  nlohmann::json params;               // the request's params
  nlohmann::json client_capabilities;  // modern: from _meta; legacy: everything
  bool modern = false;
  Emit emit;  // null when notifications cannot travel
};

class Fixtures {
 public:
  Fixtures();  // a fresh key for signing requestState

  const nlohmann::json& tools() const { return tools_; }
  const nlohmann::json& prompts() const { return prompts_; }
  const nlohmann::json& resources() const { return resources_; }
  const nlohmann::json& templates() const { return templates_; }
  bool has_tool(const std::string& name) const;
  bool has_prompt(const std::string& name) const;

  boost::asio::awaitable<Outcome> call_tool(Call call) const;
  Outcome get_prompt(const nlohmann::json& params) const;
  // nullopt when `uri` is not a fixture's.
  std::optional<nlohmann::json> read_resource(const std::string& uri) const;

 private:
  std::string sign(const std::string& state) const;
  std::optional<std::string> verify(const nlohmann::json& token) const;
  Outcome input_required_tool(const std::string& name, const nlohmann::json& params,
                              const nlohmann::json& capabilities) const;

  std::string key_;
  nlohmann::json tools_, prompts_, resources_, templates_;
};

}  // namespace fleetmcp::conformance
