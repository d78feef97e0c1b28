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

#include "mcp/extension.hpp"

namespace fleetmcp::conformance {

using Emit = mcp::Emit;
using Failure = mcp::Failure;
using Outcome = mcp::Outcome;
using Call = mcp::ExtensionCall;

class Fixtures final : public mcp::Extension {
 public:
  Fixtures();  // a fresh key for signing requestState

  const nlohmann::json& tools() const override { return tools_; }
  const nlohmann::json& prompts() const override { return prompts_; }
  const nlohmann::json& resources() const override { return resources_; }
  const nlohmann::json& templates() const override { return templates_; }
  bool has_tool(const std::string& name) const override;
  bool has_prompt(const std::string& name) const override;

  boost::asio::awaitable<Outcome> call_tool(Call call) const override;
  Outcome get_prompt(const nlohmann::json& params) const override;
  std::optional<nlohmann::json> read_resource(const std::string& uri) const override;

 private:
  std::string sign(const std::string& state) const;
  std::optional<std::string> verify(const nlohmann::json& token) const;
  Outcome input_required_tool(const std::string& name, const nlohmann::json& params,
                              const nlohmann::json& capabilities) const;

  std::string key_;
  nlohmann::json tools_, prompts_, resources_, templates_;
};

}  // namespace fleetmcp::conformance
