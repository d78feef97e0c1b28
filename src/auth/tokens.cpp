#include "auth/tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace fleetmcp::auth {
namespace {

std::array<unsigned char, 32> digest_of(std::string_view s) {
  std::array<unsigned char, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

}  // namespace

TokenStore::TokenStore(const std::vector<config::Token>& tokens) {
  for (const auto& t : tokens) entries_.push_back({t.name, digest_of(t.token)});
}

std::optional<std::string> TokenStore::identify(std::string_view token) const {
  if (token.empty()) return std::nullopt;
  const auto d = digest_of(token);
  const Entry* match = nullptr;
  for (const auto& e : entries_)  // no early exit: every entry costs the same
    if (CRYPTO_memcmp(e.digest.data(), d.data(), d.size()) == 0) match = &e;
  if (!match) return std::nullopt;
  return match->name;
}

std::optional<std::string_view> bearer_token(std::string_view header) {
  constexpr std::string_view scheme = "bearer ";
  if (header.size() <= scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return std::nullopt;
  std::string_view token = header.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return token;
}

std::optional<std::string> TokenStore::identify_header(std::string_view header) const {
  const auto token = bearer_token(header);
  if (!token) return std::nullopt;
  return identify(*token);
}

}  // namespace fleetmcp::auth
