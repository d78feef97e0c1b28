// Who is calling: an analyst named by a static token (MCP_AUTH_TOKENS,
// MCP_TOKEN) or by a verified OAuth access token. The policy (src/policy)
// applies by name and groups; audit lines carry the token's id, never the token.
#pragma once

#include <string>
#include <vector>

namespace fleetmcp::auth {

struct Caller {
  Caller() = default;
  // A static token's analyst (and tests): a name alone.
  Caller(std::string name) : name(std::move(name)) {}  // NOLINT(google-explicit-constructor)
  Caller(const char* name) : name(name) {}             // NOLINT(google-explicit-constructor)

  std::string name;
  std::vector<std::string> groups;  // the token's groups claim
  std::string token_id;             // OAuth: "jti" or a hash of the token; static tokens: empty
  std::string issuer;               // OAuth: who issued the token
};

}  // namespace fleetmcp::auth
