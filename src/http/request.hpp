// What the HTTP listener decides from a request's headers alone, as plain
// functions of (request, configuration): the parser's limits, which Host and
// Origin a browser may use, the token, the media type, and the MCP headers
// the dispatcher reads. No socket: the HTTP fuzzer drives them with Beast's
// test stream.
#pragma once

#include <boost/beast/http.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "auth/caller.hpp"
#include "auth/tokens.hpp"
#include "config/config.hpp"
#include "mcp/envelope.hpp"

namespace fleetmcp::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using Parser = bhttp::request_parser<bhttp::string_body>;

// Header block limit: MCP requests carry a handful of short headers.
inline constexpr std::uint32_t kMaxHeaderBytes = 16 * 1024;

// A parser for one request, with the server's header and body limits.
void limit(Parser& parser, const config::Config& config);

Response make_response(const Request& req, bhttp::status status, std::string body,
                       const char* content_type = "application/json");
Response method_not_allowed(const Request& req, const char* allow);
std::optional<std::string> header(const Request& req, std::string_view name);
std::string_view path_of(const Request& req);
bool is_mcp_path(std::string_view path);
// The media type of a Content-Type value, lower-cased, without parameters.
std::string media_type(std::string_view value);
// True when a Content-Type value names no charset, or UTF-8.
bool utf8_or_no_charset(std::string_view value);
// MCP-Protocol-Version, Mcp-Method, Mcp-Name and Mcp-Param-* for the dispatcher.
mcp::Headers mcp_headers(const Request& req);

// Request smuggling: a body whose length this server and a proxy in front of
// it could read differently is refused with 400 before anything else (RFC
// 9112 6.3: a Transfer-Encoding other than chunked alone, or in HTTP/1.0).
std::optional<Response> refuse_framing(const Request& req);

// Why a request to the MCP endpoint got 401, for the log: "no Authorization
// header", "not a Bearer token" or "unknown token" (the token never).
std::string_view unauthorized_reason(const Request& req);

// What the headers of a request admit: the caller when a static token (or
// none, with --insecure-no-auth) names them, or an OAuth access token still to
// verify (oauth::Verifier, which may fetch the issuer's keys: not here).
struct Admitted {
  auth::Caller caller;       // empty name: not the MCP endpoint, or a token to verify
  std::string access_token;  // set: verify it before anything else
};

class Admission {
 public:
  Admission(const config::Config& config, const auth::TokenStore& tokens)
      : config_(config), tokens_(tokens), operators_(config.operator_tokens) {}

  // Names a browser may legitimately use for this server: loopback ones and the
  // configured MCP_ALLOWED_HOSTS. `authority` is host[:port], IPv6 in brackets.
  bool allowed_authority(std::string_view authority) const;
  // DNS rebinding: a page on a foreign origin must not reach the server.
  std::optional<Response> refuse_foreign(const Request& req) const;
  // What the headers of a request to the MCP endpoint decide alone: the
  // method, Host and Origin, the token and the media type. The caller (or the
  // token to verify), or the refusal. Other paths take no body worth refusing
  // early: an empty Admitted.
  std::variant<Admitted, Response> admit(const Request& req) const;
  // 401 (invalid_token) or 403 (insufficient_scope) for an access token
  // refused, or 401 for a request without a usable token: with OAuth, the
  // challenge names the protected-resource metadata (RFC 9728).
  Response refuse_token(const Request& req, int status, std::string_view error, std::string_view description) const;
  // The operator's name when the request carries an operator token (Bearer,
  // or Basic with the operator's name as user name).
  std::optional<std::string> operator_name(const Request& req) const;
  bool has_operators() const { return !operators_.empty(); }

 private:
  const config::Config& config_;
  const auth::TokenStore& tokens_;
  const auth::TokenStore operators_;
};

}  // namespace fleetmcp::http
