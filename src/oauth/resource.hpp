// This server as an OAuth 2.1 protected resource (RFC 9728, and the MCP
// authorization specification): the metadata that names its authorization
// servers and scopes, where it is served, and the WWW-Authenticate challenge
// that points a client at it. Pure functions of the configuration.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace fleetmcp::oauth {

// {"resource", "authorization_servers", "scopes_supported", ...}.
std::string metadata_json(const config::Config::OAuth& oauth);
// Where clients find it: the well-known path with the resource's path after
// it (RFC 9728 section 3.1), e.g. https://host/.well-known/oauth-protected-resource/mcp.
std::string metadata_url(const config::Config::OAuth& oauth);
// The paths the metadata is answered on: that one, and the bare well-known path.
std::vector<std::string> metadata_paths(const config::Config::OAuth& oauth);
// Bearer resource_metadata="...", scope="..." (RFC 6750 section 3, RFC 9728
// section 5.1), with error and error_description when a token was refused.
std::string challenge(const config::Config::OAuth& oauth, std::string_view error = {},
                      std::string_view description = {});

}  // namespace fleetmcp::oauth
