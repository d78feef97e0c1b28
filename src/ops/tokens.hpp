// Operator tooling for bearer tokens: new ones, the MCP_AUTH_TOKENS list with
// one set, and that list written back into a configuration file.
#pragma once

#include <string>

namespace fleetmcp::ops {

// A 192-bit random token, hex.
std::string new_token();

// MCP_AUTH_TOKENS with `name` set to `token` (replacing its old entry, keeping
// every other one in order).
std::string tokens_with(const std::string& current, const std::string& name, const std::string& token);

// A KEY=VALUE file's text with `key` set to `value`: its first uncommented
// `key=` line replaced (the others of that key dropped), or a line appended.
// Comments and every other line stay as they are.
std::string with_setting(const std::string& file_text, const std::string& key, const std::string& value);

}  // namespace fleetmcp::ops
