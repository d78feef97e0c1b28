// JSON-RPC 2.0 dispatch for both eras of MCP on one endpoint, for every
// transport (Streamable HTTP, stdio). The envelope and its era are checked by
// the pure read_envelope (envelope.hpp); a method table routes the request to
// its handler; handlers read params through Params (params.hpp), which never
// throws. No session id is ever issued, so replicas behind a load balancer
// need no affinity.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "auth/caller.hpp"
#include "config/config.hpp"
#include "mcp/envelope.hpp"
#include "mcp/extension.hpp"
#include "metrics/activity.hpp"
#include "metrics/metrics.hpp"
#include "pg/runner.hpp"
#include "policy/policy.hpp"
#include "ratelimit/caller_limits.hpp"
#include "resources/catalog.hpp"
#include "tools/tool.hpp"

namespace fleetmcp::mcp {

// Sends one JSON-RPC notification that relates to the request being handled
// (progress) ahead of its response; false when the client is gone. Transports
// that cannot (HTTP without an SSE-accepting client) pass none.
using Notifier = std::function<boost::asio::awaitable<bool>(std::string notification)>;

struct ServerInfo {
  std::string name = "fleetmcp";
  std::string version;
};

class Dispatcher {
 public:
  // `catalog`: what the SQL guard judges calls by (null: PostgreSQL 15's built-ins only).
  Dispatcher(const config::Config& config, pg::Runner& db, audit::Sink& audit, ServerInfo info,
             const catalog::Store* catalog = nullptr);

  // By value: a coroutine keeps its parameters, and references would dangle
  // once the caller's temporaries are gone.
  // `cancel` (may be null) is fired by the transport when the client goes away.
  boost::asio::awaitable<Reply> handle(std::string body, Headers headers, auth::Caller caller,
                                       core::CancelPtr cancel = nullptr, Notifier notify = nullptr);

  const std::vector<tools::Tool>& tools() const { return tools_; }

  // The per-analyst policy and the per-caller limits (shared with the record
  // API). Set once, before serving; without them everyone gets the server's
  // settings and limits of the dispatcher's own.
  void set_policy(const policy::Book& book, ratelimit::CallerLimits& limits) {
    book_ = &book;
    limits_ = &limits;
  }

  // The role self-audit's findings (src/doctor), shown in the instructions of
  // initialize and server/discover, and by /readyz. Set once, before serving.
  using RoleWarnings = std::function<std::vector<std::string>()>;
  void set_role_warnings(RoleWarnings source) { role_warnings_ = std::move(source); }
  std::vector<std::string> role_warnings() const {
    return role_warnings_ ? role_warnings_() : std::vector<std::string>{};
  }

  // More tools, prompts and resources (the conformance fixtures), listed
  // after fleetmcp's own. Set once, before serving; `extension` outlives this.
  void set_extension(const Extension& extension);

  // Where each request's time and each running call are told (/metrics,
  // /status). Set once, before serving; without it nothing is counted.
  void set_telemetry(metrics::Metrics& metrics, metrics::Activity& activity) {
    metrics_ = &metrics;
    activity_ = &activity;
  }

 private:
  struct Request;
  struct Method;
  // A database touch's admission: the caller's limits (a refusal is audited
  // and answered with 429), and the audit record it fills.
  std::optional<Reply> admit(Request& req, audit::Record& record,
                             std::optional<ratelimit::CallerLimits::Permit>& permit);
  audit::Record record_for(const Request& req, const char* kind, std::string tool, std::string subject = {}) const;
  resources::Context catalog_context(const Request& req) const;
  // The handler of `method` in the request's era; null when there is none.
  static const Method* route(std::string_view method, bool modern);
  boost::asio::awaitable<Reply> initialize(Request& req);
  boost::asio::awaitable<Reply> ping(Request& req);
  boost::asio::awaitable<Reply> set_level(Request& req);
  boost::asio::awaitable<Reply> subscribe(Request& req);
  boost::asio::awaitable<Reply> discover(Request& req);
  boost::asio::awaitable<Reply> list_tools(Request& req);
  boost::asio::awaitable<Reply> call_tool(Request& req);
  boost::asio::awaitable<Reply> list_resources(Request& req);
  boost::asio::awaitable<Reply> list_templates(Request& req);
  boost::asio::awaitable<Reply> read_resource(Request& req);
  boost::asio::awaitable<Reply> list_prompts(Request& req);
  boost::asio::awaitable<Reply> get_prompt(Request& req);
  boost::asio::awaitable<Reply> complete(Request& req);
  // One page of `items` under `key`, from the request's cursor.
  Reply list_page(Request& req, const char* key, const nlohmann::json& items, int ttl_ms);
  // The result envelope: resultType, caching hints and server info when modern.
  Reply result(const Request& req, nlohmann::json result, std::optional<int> ttl_ms = std::nullopt) const;
  Reply invalid_params(const Request& req, const std::string& what) const;
  nlohmann::json capabilities() const;
  Reply outcome_reply(const Request& req, Outcome outcome) const;
  // The tool parameters each tool mirrors into a header (x-mcp-header).
  void index_mirrored_params();
  // What a client is told at initialize and server/discover: the caller's
  // schemas, caps and data coverage (their policy's), never the server's.
  std::string instructions(const policy::Grant& grant) const;
  std::string timezone_text() const;
  std::string role_warning_text() const;
  std::string coverage_text(const std::vector<std::string>& schemas) const;

  const config::Config& config_;
  pg::Runner& db_;
  audit::Sink& audit_;
  ServerInfo info_;
  nlohmann::json server_meta_;    // result _meta of the modern era, built once
  std::string server_meta_text_;  // the same, serialized for tools/call replies
  sql::Policy policy_;
  std::vector<tools::Tool> tools_;
  nlohmann::json tools_json_;    // tools/list items, built once
  nlohmann::json prompts_json_;  // prompts/list items, built once
  const Extension* extension_ = nullptr;
  RoleWarnings role_warnings_;
  policy::Book own_book_;
  ratelimit::CallerLimits own_limits_;
  const policy::Book* book_ = &own_book_;
  ratelimit::CallerLimits* limits_ = &own_limits_;
  metrics::Metrics* metrics_ = nullptr;
  metrics::Activity* activity_ = nullptr;
  MirroredParams param_headers_;  // found once, from the tools' schemas
  // In-flight tool calls by caller and request id, for notifications/cancelled
  // (which arrives on another HTTP request, or later on stdin).
  std::mutex inflight_mu_;
  std::map<std::string, std::weak_ptr<core::CancelSignal>> inflight_;
  void cancel_request(const std::string& caller, const nlohmann::json& request_id);
};

}  // namespace fleetmcp::mcp
