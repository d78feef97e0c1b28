// The HTTP listener (Boost.Beast): one coroutine per connection, on one of
// the event loops (each run by one thread), HTTP/1.1 keep-alive, a body limit and a timeout before every read.
// Routes: POST /mcp (and /) to the MCP dispatcher after bearer auth;
// GET /healthz (liveness, no auth, leaks nothing); GET /readyz (database reachable);
// a WebSocket upgrade on /mcp/ws to the record API (ws/), which takes the connection;
// GET /metrics and /status behind an operator token (404 without MCP_OPERATOR_TOKENS);
// with OAuth, GET /.well-known/oauth-protected-resource[/mcp] (RFC 9728).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "auth/tokens.hpp"
#include "config/config.hpp"
#include "mcp/dispatcher.hpp"
#include "oauth/verifier.hpp"
#include "ratelimit/caller_limits.hpp"
#include "ws/session.hpp"

namespace fleetmcp::http {

// What the operator paths answer, rendered when asked.
struct OperatorPages {
  std::function<std::string()> metrics;  // Prometheus text
  std::function<std::string()> status;   // HTML
};

// /readyz's question to the database (SELECT 1 as the server), asked at most
// once per probe interval whatever the number of checks.
using ReadinessProbe = std::function<boost::asio::awaitable<core::Status>()>;

class Server {
 public:
  // Listens on the first loop; connections are spread over all of them.
  // A 401 is logged on `audit`.
  Server(std::vector<boost::asio::io_context*> loops, const config::Config& config, mcp::Dispatcher& dispatcher,
         const auth::TokenStore& tokens, ReadinessProbe probe, ws::Endpoint& records, audit::Sink& audit);

  // Set before start().
  void set_operator_pages(OperatorPages pages);
  // Access tokens that are not static ones are verified here (MCP_OAUTH_ISSUERS).
  void set_oauth(oauth::Verifier& verifier);
  // Each analyst's open connections count against MCP_CONNECTIONS_PER_CALLER here.
  void set_caller_limits(ratelimit::CallerLimits& limits);
  // Open client connections, against MCP_MAX_CONNECTIONS (any thread).
  int connections() const;

  // Binds and listens; returns the bound port (MCP_PORT=0 picks a free one).
  core::Result<unsigned short> listen();
  void start();  // accepts until stop()
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace fleetmcp::http
