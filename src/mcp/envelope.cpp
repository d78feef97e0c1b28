#include "mcp/envelope.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include "errors/errors.hpp"

namespace fleetmcp::mcp {

using namespace fleetmcp::errors;  // the JSON-RPC codes and texts

using nlohmann::json;

namespace {

// Tools/call, resources/read and prompts/get name their target in Mcp-Name.
bool names_a_target(std::string_view method) {
  return method == "tools/call" || method == "resources/read" || method == "prompts/get";
}

// Tool parameters a tool's schema mirrors into Mcp-Param-{name} headers must
// match the arguments; the reason when one does not.
std::optional<std::string> param_header_mismatch(const json& params, const Headers& headers,
                                                 const MirroredParams& mirrored_params) {
  const auto tool = params.find("name");
  if (tool == params.end() || !tool->is_string()) return std::nullopt;
  const auto mirrored = mirrored_params.find(tool->get_ref<const std::string&>());
  if (mirrored == mirrored_params.end()) return std::nullopt;
  const auto args = params.find("arguments");
  if (args == params.end() || !args->is_object()) return std::nullopt;
  for (const auto& [property, header] : mirrored->second) {
    const auto value = args->find(property);
    if (value == args->end() || value->is_null()) continue;
    std::string key = header;
    std::transform(key.begin(), key.end(), key.begin(), ::tolower);
    const auto it = headers.params.find(key);
    if (it == headers.params.end()) return "Mcp-Param-" + header + " header is required";
    const std::string expected = value->is_string() ? value->get<std::string>() : value->dump();
    if (decode_header_value(it->second) != expected)
      return "Mcp-Param-" + header + " header does not match argument '" + property + "'";
  }
  return std::nullopt;
}

Reply unsupported_version(const json& id, const std::string& requested) {
  return error_reply(400, id, kUnsupportedVersion, "Unsupported protocol version: " + requested,
                     {{"supported", supported_versions()}, {"requested", requested}});
}

// The modern era's rules: the version in _meta, the client's capabilities,
// and on HTTP the headers that mirror the body.
std::optional<Reply> check_modern(const Envelope& env, const Headers& headers, const MirroredParams& mirrored) {
  const json& meta = *env.params.find("_meta");  // an object holding the version: read_envelope checked
  const std::string version = meta[kMetaVersion].get<std::string>();
  if (headers.http && headers.protocol_version && *headers.protocol_version != version)
    return error_reply(400, env.id, kHeaderMismatch,
                       "Header mismatch: MCP-Protocol-Version header '" + *headers.protocol_version +
                           "' does not match _meta protocolVersion '" + version + "'");
  if (version != kModernVersion) return unsupported_version(env.id, version);
  const auto caps = meta.find(kMetaCapabilities);
  if (caps == meta.end() || caps->is_null())
    return error_reply(400, env.id, kInvalidParams,
                       std::string("Invalid params: _meta.") + kMetaCapabilities + " is required");
  if (!caps->is_object())
    return error_reply(400, env.id, kInvalidParams,
                       std::string("Invalid params: _meta.") + kMetaCapabilities + " must be an object");
  if (env.notification || !headers.http) return std::nullopt;
  if (!headers.protocol_version)
    return error_reply(400, env.id, kHeaderMismatch, "Header mismatch: MCP-Protocol-Version header is required");
  if (!headers.method || *headers.method != env.method)
    return error_reply(400, env.id, kHeaderMismatch,
                       "Header mismatch: Mcp-Method header '" + headers.method.value_or("") +
                           "' does not match body method '" + env.method + "'");
  if (names_a_target(env.method)) {
    const auto n = env.params.contains("name") ? env.params.find("name") : env.params.find("uri");
    const std::string body_name = n != env.params.end() && n->is_string() ? n->get<std::string>() : "";
    if (!headers.name || decode_header_value(*headers.name) != body_name)
      return error_reply(400, env.id, kHeaderMismatch,
                         "Header mismatch: Mcp-Name header '" + headers.name.value_or("") +
                             "' does not match body value '" + body_name + "'");
  }
  if (env.method == "tools/call")
    if (auto mismatch = param_header_mismatch(env.params, headers, mirrored))
      return error_reply(400, env.id, kHeaderMismatch, "Header mismatch: " + *mismatch);
  return std::nullopt;
}

}  // namespace

json supported_versions() {
  json all = json::array({kModernVersion});
  for (const char* l : kLegacyVersions) all.push_back(l);
  return all;
}

bool is_legacy_version(std::string_view v) {
  return std::any_of(std::begin(kLegacyVersions), std::end(kLegacyVersions), [&](const char* l) { return v == l; });
}

std::string decode_header_value(const std::string& v) {
  const std::string prefix = "=?base64?", suffix = "?=";
  if (v.size() < prefix.size() + suffix.size() || v.rfind(prefix, 0) != 0 ||
      v.compare(v.size() - suffix.size(), suffix.size(), suffix) != 0)
    return v;
  std::string b64 = v.substr(prefix.size(), v.size() - prefix.size() - suffix.size());
  if (b64.size() % 4) return v;
  std::string out(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n < 0) return v;
  std::size_t pad = 0;
  if (!b64.empty() && b64.back() == '=') ++pad;
  if (b64.size() > 1 && b64[b64.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

Reply error_reply(int status, const json& id, int code, const std::string& message, const json& data) {
  return {status, rpc_error(id, code, message, data), true};
}

std::variant<Envelope, Reply> read_envelope(std::string_view body, const Headers& headers,
                                            const MirroredParams& mirrored) {
  auto parsed = fleetmcp::json::parse_bounded(body, kMessageLimits);
  if (parsed.too_large) return error_reply(400, nullptr, kInvalidRequest, "Invalid Request: " + parsed.error);
  if (!parsed.ok) return error_reply(400, nullptr, kParseError, "Parse error: the body is not valid JSON");
  json& message = parsed.value;
  if (message.is_array())
    return error_reply(400, nullptr, kInvalidRequest,
                       "Invalid Request: JSON-RPC batches are not supported; send one message per request");
  if (!message.is_object())
    return error_reply(400, nullptr, kInvalidRequest, "Invalid Request: expected a JSON-RPC object");

  Envelope env;
  const auto id = message.find("id");
  env.notification = id == message.end();
  if (!env.notification) {
    if (!(id->is_string() || id->is_number_integer()))
      return error_reply(400, nullptr, kInvalidRequest, "Invalid Request: id must be a string or an integer");
    env.id = std::move(*id);
  }
  const auto version = message.find("jsonrpc");
  if (version == message.end() || *version != "2.0")
    return error_reply(400, env.id, kInvalidRequest, "Invalid Request: jsonrpc must be \"2.0\"");
  const auto method = message.find("method");
  if (method == message.end()) {
    // A response from the client (to a server request we never send): accept it.
    if (message.contains("result") || message.contains("error")) return Reply{202, {}};
    return error_reply(400, env.id, kInvalidRequest, "Invalid Request: method is missing");
  }
  if (!method->is_string())
    return error_reply(400, env.id, kInvalidRequest, "Invalid Request: method must be a string");
  env.method = method->get<std::string>();
  if (const auto params = message.find("params"); params != message.end() && !params->is_null())
    env.params = std::move(*params);
  else
    env.params = json::object();
  if (!env.params.is_object())
    return error_reply(400, env.id, kInvalidParams, "Invalid params: params must be an object");

  const auto meta = env.params.find("_meta");
  if (meta != env.params.end() && !meta->is_null() && !meta->is_object())
    return error_reply(400, env.id, kInvalidParams, "Invalid params: params._meta must be an object");
  env.modern = meta != env.params.end() && meta->is_object() && meta->contains(kMetaVersion) &&
               (*meta)[kMetaVersion].is_string();
  if (env.modern) {
    if (auto refused = check_modern(env, headers, mirrored)) return std::move(*refused);
    return env;
  }
  if (headers.protocol_version) {
    const std::string& h = *headers.protocol_version;
    if (h == kModernVersion)
      return error_reply(
          400, env.id, kInvalidParams,
          std::string("Invalid params: a ") + kModernVersion + " request must carry _meta." + kMetaVersion);
    if (!is_legacy_version(h) && env.method != "initialize") return unsupported_version(env.id, h);
  }
  return env;
}

}  // namespace fleetmcp::mcp
