// Bearer tokens: who is calling. Compared in constant time so response timing
// tells an attacker nothing about how close a guess was, or which analyst it hit.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace fleetmcp::auth {

// The token of an "Authorization: Bearer <token>" value (scheme
// case-insensitive, surrounding blanks trimmed); nothing for another scheme.
std::optional<std::string_view> bearer_token(std::string_view authorization);
// The user name and password of an "Authorization: Basic <base64>" value.
std::optional<std::pair<std::string, std::string>> basic_credentials(std::string_view authorization);

class TokenStore {
 public:
  explicit TokenStore(const std::vector<config::Token>& tokens);

  // The analyst's name for a valid token, else nothing. Examines every entry.
  std::optional<std::string> identify(std::string_view token) const;

  // Parses "Bearer <token>" (scheme case-insensitive) and identifies it.
  std::optional<std::string> identify_header(std::string_view authorization) const;
  // Bearer <token>, or Basic with the entry's name as user name and its token as
  // password (what a browser asks for, and Prometheus's basic_auth sends).
  std::optional<std::string> identify_bearer_or_basic(std::string_view authorization) const;

  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::string name;
    std::array<unsigned char, 32> digest;  // SHA-256 of the token: fixed length to compare
  };
  std::vector<Entry> entries_;
};

}  // namespace fleetmcp::auth
