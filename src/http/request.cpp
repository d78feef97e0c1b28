#include "http/request.hpp"

#include "json/writer.hpp"
#include "oauth/resource.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>

namespace fleetmcp::http {

namespace beast = boost::beast;

void limit(Parser& parser, const config::Config& config) {
  parser.body_limit(config.max_body_bytes);
  parser.header_limit(kMaxHeaderBytes);
}

Response make_response(const Request& req, bhttp::status status, std::string body, const char* content_type) {
  Response res{status, req.version()};
  res.set(bhttp::field::server, "fleetmcp");
  res.set(bhttp::field::cache_control, "no-store");
  if (!body.empty()) res.set(bhttp::field::content_type, content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  // HEAD: the length the body would have, and no body (one would be read as
  // the start of the next response).
  if (req.method() == bhttp::verb::head) res.body().clear();
  return res;
}

std::optional<Response> refuse_framing(const Request& req) {
  const auto te = req.find(bhttp::field::transfer_encoding);
  if (te == req.end()) return std::nullopt;
  std::string_view coding(te->value().data(), te->value().size());
  coding.remove_prefix(std::min(coding.size(), coding.find_first_not_of(" \t")));
  coding = coding.substr(0, coding.find_last_not_of(" \t") + 1);
  if (req.version() >= 11 && beast::iequals(coding, "chunked")) return std::nullopt;
  Response res = make_response(req, bhttp::status::bad_request,
                               "{\"error\":\"unsupported Transfer-Encoding: only chunked, in HTTP/1.1\"}");
  res.keep_alive(false);
  return res;
}

std::optional<std::string> header(const Request& req, std::string_view name) {
  auto it = req.find(beast::string_view(name.data(), name.size()));
  if (it == req.end()) return std::nullopt;
  return std::string(it->value());
}

Response method_not_allowed(const Request& req, const char* allow) {
  Response res = make_response(req, bhttp::status::method_not_allowed,
                               std::string("{\"error\":\"method not allowed; use ") + allow + "\"}");
  res.set(bhttp::field::allow, allow);
  return res;
}

bool is_mcp_path(std::string_view path) { return path == "/mcp" || path == "/"; }

std::string_view path_of(const Request& req) {
  std::string_view target(req.target().data(), req.target().size());
  return target.substr(0, target.find('?'));
}

std::string media_type(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  std::string type(value);
  std::transform(type.begin(), type.end(), type.begin(), ::tolower);
  return type;
}

bool utf8_or_no_charset(std::string_view value) {
  for (auto semi = value.find(';'); semi != std::string_view::npos; semi = value.find(';')) {
    value.remove_prefix(semi + 1);
    std::string param = media_type(value.substr(0, value.find(';')));  // trimmed, lower-cased
    if (param.rfind("charset=", 0) != 0) continue;
    param.erase(0, 8);
    std::erase(param, '"');
    if (param != "utf-8" && param != "utf8") return false;
  }
  return true;
}

mcp::Headers mcp_headers(const Request& req) {
  mcp::Headers headers;
  headers.http = true;
  headers.protocol_version = header(req, "MCP-Protocol-Version");
  headers.method = header(req, "Mcp-Method");
  headers.name = header(req, "Mcp-Name");
  constexpr std::string_view kParamPrefix = "mcp-param-";
  for (const auto& field : req) {
    const auto name = field.name_string();
    if (name.size() <= kParamPrefix.size() || !beast::iequals(name.substr(0, kParamPrefix.size()), kParamPrefix))
      continue;
    std::string param(name.substr(kParamPrefix.size()));
    std::transform(param.begin(), param.end(), param.begin(), ::tolower);
    headers.params[std::move(param)] = std::string(field.value());
  }
  return headers;
}

bool Admission::allowed_authority(std::string_view authority) const {
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  std::string h(host);
  std::transform(h.begin(), h.end(), h.begin(), ::tolower);
  if (config::is_loopback_host(h)) return true;
  for (const auto& a : config_.allowed_hosts) {
    std::string allowed = a;
    std::transform(allowed.begin(), allowed.end(), allowed.begin(), ::tolower);
    if (allowed == h || allowed == std::string(authority)) return true;
  }
  return false;
}

std::optional<Response> Admission::refuse_foreign(const Request& req) const {
  // Two of a header that decides who may call: a proxy may read the other one.
  for (const auto field : {bhttp::field::host, bhttp::field::origin, bhttp::field::authorization,
                           bhttp::field::content_type, bhttp::field::content_encoding})
    if (req.count(field) > 1)
      return make_response(req, bhttp::status::bad_request,
                           "{\"error\":\"more than one " + std::string(bhttp::to_string(field)) + " header\"}");
  using HostCheck = config::Config::HostCheck;
  if (config_.host_check == HostCheck::Off) return std::nullopt;
  if (auto origin = header(req, "Origin")) {
    // "null" is what a sandboxed page or a local file sends: no origin to trust.
    std::string_view o = *origin;
    const auto scheme = o.find("://");
    if (scheme == std::string_view::npos || !allowed_authority(o.substr(scheme + 3)))
      return make_response(req, bhttp::status::forbidden,
                           "{\"error\":\"forbidden: Origin not allowed (MCP_ALLOWED_HOSTS)\"}");
  }
  if (config_.host_check == HostCheck::On || config::is_loopback_host(config_.host)) {
    if (!allowed_authority(header(req, "Host").value_or("")))
      return make_response(req, bhttp::status::forbidden,
                           "{\"error\":\"forbidden: Host not allowed (MCP_ALLOWED_HOSTS)\"}");
  }
  return std::nullopt;
}

std::string_view unauthorized_reason(const Request& req) {
  const auto authorization = header(req, "Authorization");
  if (!authorization) return "no Authorization header";
  return auth::bearer_token(*authorization) ? "unknown token" : "not a Bearer token";
}

std::optional<std::string> Admission::operator_name(const Request& req) const {
  if (operators_.empty()) return std::nullopt;
  return operators_.identify_bearer_or_basic(header(req, "Authorization").value_or(""));
}

Response Admission::refuse_token(const Request& req, int status, std::string_view error,
                                 std::string_view description) const {
  std::string body = "{\"error\":";
  fleetmcp::json::append_string(body, status == 403   ? "forbidden: " + std::string(description)
                                      : error.empty() ? std::string("unauthorized: send Authorization: Bearer <token>")
                                                      : "unauthorized: " + std::string(description));
  body += "}";
  Response res = make_response(req, static_cast<bhttp::status>(status), std::move(body));
  res.set(bhttp::field::www_authenticate, config_.oauth.enabled() ? oauth::challenge(config_.oauth, error, description)
                                                                  : std::string("Bearer realm=\"fleetmcp\""));
  return res;
}

std::variant<Admitted, Response> Admission::admit(const Request& req) const {
  if (!is_mcp_path(path_of(req))) return Admitted{};
  if (req.method() != bhttp::verb::post) return method_not_allowed(req, "POST");
  if (auto refused = refuse_foreign(req)) return std::move(*refused);
  Admitted admitted{auth::Caller("anonymous"), {}};
  if (!config_.insecure_no_auth) {
    const std::string authorization = header(req, "Authorization").value_or("");
    if (auto who = tokens_.identify_header(authorization)) {
      admitted.caller = auth::Caller(std::move(*who));
    } else if (const auto token = auth::bearer_token(authorization); token && config_.oauth.enabled()) {
      admitted.caller = auth::Caller();
      admitted.access_token = std::string(*token);
    } else {
      return refuse_token(req, 401, {}, {});
    }
  }
  // A browser sends text/plain and form bodies cross-origin without asking
  // first; a JSON body needs a preflight, which we never grant.
  // JSON is UTF-8 (RFC 8259); a body in another charset or compressed would
  // be read as something it is not.
  const std::string type = header(req, "Content-Type").value_or("");
  const auto encoding = header(req, "Content-Encoding");
  if (media_type(type) != "application/json" || !utf8_or_no_charset(type) ||
      (encoding && media_type(*encoding) != "identity"))
    return make_response(req, bhttp::status::unsupported_media_type,
                         "{\"error\":\"unsupported media type: send Content-Type: application/json (UTF-8, "
                         "no Content-Encoding)\"}");
  return admitted;
}

}  // namespace fleetmcp::http
