// The /mcp/ws endpoint: takes over an HTTP connection that asked to upgrade,
// checks MCP_ENABLED and the token, then serves record API requests on it.
// Per connection, on its strand: one coroutine reading (always, so pings are
// answered and a hang-up cancels what runs), one per request in flight, one
// writer. Hundreds of connections share the server's event loop.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "audit/audit.hpp"
#include "auth/tokens.hpp"
#include "config/config.hpp"
#include "pg/database.hpp"
#include "ws/record_api.hpp"

namespace fleetmcp::ws {

inline constexpr std::string_view kPath = "/mcp/ws";

using UpgradeRequest = boost::beast::http::request<boost::beast::http::string_body>;

class Endpoint {
 public:
  Endpoint(const config::Config& config, pg::Database& db, audit::Sink& audit);

  // Serves one connection whose request `upgrade` asks for a WebSocket on
  // kPath (Origin and Host already checked) until it closes. By value: the
  // coroutine keeps them.
  boost::asio::awaitable<void> serve(boost::beast::tcp_stream stream, UpgradeRequest upgrade);

  // Connections currently open on the endpoint.
  std::size_t sessions() const { return sessions_.load(); }

  // The analysts' policy and the per-caller limits the MCP endpoint uses too.
  void set_policy(const policy::Book& book, ratelimit::CallerLimits& limits) { api_.set_policy(book, limits); }

 private:
  friend class Session;
  const config::Config& config_;
  // MCP_AUTH_TOKENS plus MCP_TOKEN (as caller "shared").
  auth::TokenStore tokens_;
  RecordApi api_;
  std::atomic<std::size_t> sessions_{0};
};

// The percent-decoded value of query parameter `name` in a request target
// ("/mcp/ws?token=..."); nothing when absent or badly encoded.
std::optional<std::string> query_parameter(std::string_view target, std::string_view name);

}  // namespace fleetmcp::ws
