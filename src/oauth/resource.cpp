#include "oauth/resource.hpp"

#include "json/writer.hpp"

namespace fleetmcp::oauth {
namespace {

constexpr std::string_view kWellKnown = "/.well-known/oauth-protected-resource";

// The audience's origin and path ("https://host:8443", "/mcp").
std::pair<std::string, std::string> split(const std::string& audience) {
  const auto scheme_end = audience.find("://");
  const auto path_start = audience.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (path_start == std::string::npos) return {audience, ""};
  std::string path = audience.substr(path_start);
  if (path == "/") path.clear();
  return {audience.substr(0, path_start), path};
}

// A quoted-string of RFC 9110: '"' and '\' escaped, controls dropped.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) continue;
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string metadata_json(const config::Config::OAuth& oauth) {
  std::string out = "{\"resource\":";
  json::append_string(out, oauth.audience);
  out += ",\"authorization_servers\":[";
  for (std::size_t i = 0; i < oauth.issuers.size(); ++i) {
    if (i) out += ',';
    json::append_string(out, oauth.issuers[i]);
  }
  out += "],\"scopes_supported\":[";
  for (std::size_t i = 0; i < oauth.scopes.size(); ++i) {
    if (i) out += ',';
    json::append_string(out, oauth.scopes[i]);
  }
  out += "],\"bearer_methods_supported\":[\"header\"],\"resource_name\":\"fleetmcp\"}";
  return out;
}

std::string metadata_url(const config::Config::OAuth& oauth) {
  const auto [origin, path] = split(oauth.audience);
  return origin + std::string(kWellKnown) + path;
}

std::vector<std::string> metadata_paths(const config::Config::OAuth& oauth) {
  const auto path = split(oauth.audience).second;
  std::vector<std::string> out = {std::string(kWellKnown)};
  if (!path.empty()) out.push_back(std::string(kWellKnown) + path);
  return out;
}

std::string challenge(const config::Config::OAuth& oauth, std::string_view error, std::string_view description) {
  std::string scopes;
  for (const auto& s : oauth.scopes) scopes += (scopes.empty() ? "" : " ") + s;
  std::string out = "Bearer resource_metadata=" + quoted(metadata_url(oauth)) + ", scope=" + quoted(scopes);
  if (!error.empty()) out += ", error=" + quoted(error);
  if (!description.empty()) out += ", error_description=" + quoted(description.substr(0, 300));
  return out;
}

}  // namespace fleetmcp::oauth
