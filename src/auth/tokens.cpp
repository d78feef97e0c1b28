#include "auth/tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
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

namespace {

// The credentials after `scheme` (lower case, with its space), case-insensitively, blanks trimmed.
std::optional<std::string_view> credentials(std::string_view header, std::string_view scheme) {
  if (header.size() <= scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return std::nullopt;
  std::string_view value = header.substr(scheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

}  // namespace

std::optional<std::string_view> bearer_token(std::string_view header) { return credentials(header, "bearer "); }

std::optional<std::pair<std::string, std::string>> basic_credentials(std::string_view header) {
  const auto encoded = credentials(header, "basic ");
  // Base64 of a name and a token: a few hundred bytes at most.
  if (!encoded || encoded->empty() || encoded->size() % 4 != 0 || encoded->size() > 1024) return std::nullopt;
  std::string decoded(encoded->size() / 4 * 3, '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                      reinterpret_cast<const unsigned char*>(encoded->data()), static_cast<int>(encoded->size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding's zero bytes: drop them (at most two;
  // "====" decodes to nothing at all).
  std::size_t padding = 0;
  for (auto it = encoded->rbegin(); it != encoded->rend() && *it == '=' && padding < 2; ++it) ++padding;
  if (static_cast<std::size_t>(n) < padding) return std::nullopt;
  decoded.resize(static_cast<std::size_t>(n) - padding);
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(decoded.substr(0, colon), decoded.substr(colon + 1));
}

std::optional<std::string> TokenStore::identify_header(std::string_view header) const {
  const auto token = bearer_token(header);
  if (!token) return std::nullopt;
  return identify(*token);
}

std::optional<std::string> TokenStore::identify_bearer_or_basic(std::string_view header) const {
  if (auto who = identify_header(header)) return who;
  const auto basic = basic_credentials(header);
  if (!basic) return std::nullopt;
  auto who = identify(basic->second);
  if (!who || *who != basic->first) return std::nullopt;
  return who;
}

}  // namespace fleetmcp::auth
