// OAuth access tokens, verified locally: the JWT's issuer must be one of
// MCP_OAUTH_ISSUERS, its signature must hold under that issuer's published
// keys (RFC 8414 / OpenID discovery, then its JWKS), and its audience, times
// and scopes must be ours (src/auth/jwt does the checking). Keys are cached;
// an unknown kid refreshes them at most once per kRefreshInterval; an issuer
// that cannot be reached leaves the cached keys in use. Keys are only ever
// fetched from the configured issuers, never from a URL a token names.
// Thread-safe: sessions on every loop verify at once.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "auth/caller.hpp"
#include "auth/jwt.hpp"
#include "config/config.hpp"
#include "core/result.hpp"

namespace fleetmcp::oauth {

// Why a token was refused: 401 invalid_token, or 403 insufficient_scope.
struct Refusal {
  int status = 401;
  std::string error = "invalid_token";
  std::string description;  // for WWW-Authenticate and the audit line; never the token
};
using Verdict = std::variant<auth::Caller, Refusal>;

class Verifier {
 public:
  // GET of a small document (oauth/fetch.hpp); tests may count or fail them.
  using Fetch = std::function<boost::asio::awaitable<core::Result<std::string>>(std::string url)>;
  static constexpr auto kRefreshInterval = std::chrono::seconds(30);
  static constexpr auto kKeysMaxAge = std::chrono::hours(1);

  Verifier(const config::Config::OAuth& oauth, std::function<void(const std::string&)> log, Fetch fetch = nullptr);

  // Fetches every issuer's keys once, in the background: serving never waits for it.
  void start(const boost::asio::any_io_executor& ex);

  boost::asio::awaitable<Verdict> verify(std::string token);

  // Whether any issuer's keys are in hand (/readyz's details say it to operators).
  bool has_keys() const;

 private:
  struct Issuer {
    std::string url;
    std::shared_ptr<const auth::KeySet> keys;  // null until fetched once
    std::chrono::steady_clock::time_point fetched{};
    // The last fetch for want of keys, and for an unknown kid: each kind at
    // most once per kRefreshInterval, so neither an unreachable issuer nor a
    // flood of invented kids makes us fetch more often.
    std::optional<std::chrono::steady_clock::time_point> missing_at, unknown_kid_at;
    bool fetching = false;
  };
  enum class Why { Start, Missing, UnknownKid };
  // Fetches `issuer`'s metadata and keys, unless another call is at it (then
  // waits for that one) or the same reason fetched under kRefreshInterval ago.
  boost::asio::awaitable<void> refresh(Issuer& issuer, Why why);
  boost::asio::awaitable<core::Result<std::shared_ptr<const auth::KeySet>>> download(const std::string& issuer_url);
  std::shared_ptr<const auth::KeySet> keys_of(const Issuer& issuer) const;

  const config::Config::OAuth& oauth_;
  std::function<void(const std::string&)> log_;
  Fetch fetch_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Issuer>> issuers_;  // fixed at construction; fields under mu_
};

}  // namespace fleetmcp::oauth
