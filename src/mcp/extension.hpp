// Tools, prompts and resources served beside fleetmcp's own, answered without
// the database. The conformance suite's fixtures (src/conformance) are the one
// implementation; App installs them only with --conformance-fixtures, so the
// dispatcher never links test code.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

namespace fleetmcp::mcp {

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

struct ExtensionCall {
  nlohmann::json params;               // the request's params
  nlohmann::json client_capabilities;  // modern: from _meta; legacy: everything
  bool modern = false;
  Emit emit;  // null when notifications cannot travel
};

class Extension {
 public:
  virtual ~Extension() = default;
  // Items for tools/list, prompts/list, resources/list, resources/templates/list.
  virtual const nlohmann::json& tools() const = 0;
  virtual const nlohmann::json& prompts() const = 0;
  virtual const nlohmann::json& resources() const = 0;
  virtual const nlohmann::json& templates() const = 0;
  virtual bool has_tool(const std::string& name) const = 0;
  virtual bool has_prompt(const std::string& name) const = 0;
  virtual boost::asio::awaitable<Outcome> call_tool(ExtensionCall call) const = 0;
  virtual Outcome get_prompt(const nlohmann::json& params) const = 0;
  // nullopt when `uri` is not the extension's.
  virtual std::optional<nlohmann::json> read_resource(const std::string& uri) const = 0;
};

}  // namespace fleetmcp::mcp
