#include "oauth/verifier.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>
#include <utility>

#include "config/config.hpp"
#include "json/bounded.hpp"
#include "oauth/fetch.hpp"

namespace fleetmcp::oauth {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using core::ErrorKind;
using core::make_error;

constexpr auto kFetchTimeout = std::chrono::seconds(5);
constexpr std::size_t kMaxDocumentBytes = 256 << 10;
constexpr auto kWaitStep = std::chrono::milliseconds(25);

// Where an issuer's metadata may be: OpenID discovery (the path appended),
// then RFC 8414 (the well-known path inserted before the issuer's path).
std::vector<std::string> metadata_urls(const std::string& issuer) {
  std::string base = issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::vector<std::string> out = {base + "/.well-known/openid-configuration"};
  const auto scheme_end = base.find("://");
  const auto path_start = base.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  const std::string origin = path_start == std::string::npos ? base : base.substr(0, path_start);
  const std::string path = path_start == std::string::npos ? "" : base.substr(path_start);
  out.push_back(origin + "/.well-known/oauth-authorization-server" + path);
  return out;
}

// https://, or http:// on loopback: a key fetched in clear text could be anyone's.
bool acceptable_url(const std::string& url) {
  auto u = parse_url(url);
  return u && (u->tls || config::is_loopback_host(u->host));
}

Refusal invalid(std::string description) { return Refusal{401, "invalid_token", std::move(description)}; }

}  // namespace

Verifier::Verifier(const config::Config::OAuth& oauth, std::function<void(const std::string&)> log, Fetch fetch)
    : oauth_(oauth), log_(std::move(log)), fetch_(std::move(fetch)) {
  if (!fetch_) fetch_ = [](std::string url) { return oauth::fetch(std::move(url), kFetchTimeout, kMaxDocumentBytes); };
  for (const auto& url : oauth_.issuers) {
    issuers_.push_back(std::make_unique<Issuer>());
    issuers_.back()->url = url;
  }
}

void Verifier::start(const asio::any_io_executor& ex) {
  for (auto& issuer : issuers_)
    asio::co_spawn(
        ex, [this, i = issuer.get()]() -> asio::awaitable<void> { co_await refresh(*i, Why::Start); }, asio::detached);
}

bool Verifier::has_keys() const {
  std::lock_guard lock(mu_);
  return std::any_of(issuers_.begin(), issuers_.end(), [](const auto& i) { return i->keys && !i->keys->keys.empty(); });
}

std::shared_ptr<const auth::KeySet> Verifier::keys_of(const Issuer& issuer) const {
  std::lock_guard lock(mu_);
  return issuer.keys;
}

asio::awaitable<core::Result<std::shared_ptr<const auth::KeySet>>> Verifier::download(const std::string& issuer_url) {
  std::string problems;
  for (const auto& url : metadata_urls(issuer_url)) {
    auto text = co_await fetch_(url);
    if (!text) {
      problems += (problems.empty() ? "" : "; ") + text.error().message;
      continue;
    }
    auto doc = json::parse_bounded(*text, {16, 64 << 10, 10000});
    if (!doc.ok || !doc.value.is_object()) {
      problems += (problems.empty() ? "" : "; ") + url + ": not a JSON object";
      continue;
    }
    // RFC 8414 section 3.3: the metadata must be the issuer's own.
    const auto issuer = doc.value.find("issuer");
    if (issuer == doc.value.end() || !issuer->is_string() || issuer->get<std::string>() != issuer_url)
      co_return make_error(ErrorKind::Unavailable, url + ": its \"issuer\" is not " + issuer_url);
    const auto jwks = doc.value.find("jwks_uri");
    if (jwks == doc.value.end() || !jwks->is_string() || !acceptable_url(jwks->get<std::string>()))
      co_return make_error(ErrorKind::Unavailable, url + ": no https:// \"jwks_uri\"");
    auto keys_text = co_await fetch_(jwks->get<std::string>());
    if (!keys_text) co_return keys_text.error();
    auto keys = auth::parse_jwks(*keys_text);
    if (!keys) co_return make_error(ErrorKind::Unavailable, jwks->get<std::string>() + ": " + keys.error().message);
    for (const auto& why : keys->skipped) log_("oauth: " + issuer_url + ": key skipped: " + why);
    co_return std::make_shared<const auth::KeySet>(std::move(*keys));
  }
  co_return make_error(ErrorKind::Unavailable, "no metadata found (" + problems + ")");
}

asio::awaitable<void> Verifier::refresh(Issuer& issuer, Why why) {
  {
    std::unique_lock lock(mu_);
    const auto now = Clock::now();
    auto& last = why == Why::UnknownKid ? issuer.unknown_kid_at : issuer.missing_at;
    if (!issuer.fetching && why != Why::Start && last && now - *last < kRefreshInterval) co_return;
    if (issuer.fetching) {
      // Another call is fetching: wait for it rather than fetch twice.
      lock.unlock();
      asio::steady_timer timer(co_await asio::this_coro::executor);
      const auto give_up = now + 2 * kFetchTimeout;
      for (;;) {
        timer.expires_after(kWaitStep);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        std::lock_guard again(mu_);
        if (!issuer.fetching || Clock::now() > give_up) co_return;
      }
    }
    issuer.fetching = true;
    if (why != Why::Start) last = now;
  }
  auto keys = co_await download(issuer.url);
  std::lock_guard lock(mu_);
  issuer.fetching = false;
  if (keys) {
    issuer.keys = std::move(*keys);
    issuer.fetched = Clock::now();
  } else {
    // The cached keys stay: tokens they verify keep working while the issuer is away.
    log_("oauth: cannot fetch the keys of " + issuer.url + ": " + keys.error().message);
  }
}

asio::awaitable<Verdict> Verifier::verify(std::string token) {
  auto decoded = auth::decode_token(token);
  if (auto* failure = std::get_if<auth::TokenFailure>(&decoded)) co_return invalid(failure->reason);
  const auto& unverified = std::get<auth::UnverifiedToken>(decoded);
  Issuer* issuer = nullptr;
  for (auto& i : issuers_)
    if (i->url == unverified.issuer) issuer = i.get();
  if (!issuer) co_return invalid("the token's issuer is not one this server accepts (MCP_OAUTH_ISSUERS)");

  auth::Expectation expect;
  expect.issuers = oauth_.issuers;
  expect.audience = oauth_.audience;
  expect.user_claim = oauth_.user_claim;
  expect.groups_claim = oauth_.groups_claim;
  expect.now = static_cast<std::int64_t>(std::time(nullptr));

  auto keys = keys_of(*issuer);
  {
    std::unique_lock lock(mu_);
    const bool stale = keys && Clock::now() - issuer->fetched > kKeysMaxAge;
    lock.unlock();
    if (!keys || stale) {
      co_await refresh(*issuer, Why::Missing);
      keys = keys_of(*issuer);
    }
  }
  if (!keys) co_return invalid("the issuer's signing keys could not be fetched yet; try again shortly");
  auto verified = auth::verify_token(unverified, *keys, expect);
  if (auto* failure = std::get_if<auth::TokenFailure>(&verified);
      failure && failure->error == auth::TokenError::UnknownKey) {
    // A new key (rotation): fetch the JWKS again, at most once per interval.
    co_await refresh(*issuer, Why::UnknownKid);
    if (auto fresh = keys_of(*issuer); fresh != keys) verified = auth::verify_token(unverified, *fresh, expect);
  }
  if (auto* failure = std::get_if<auth::TokenFailure>(&verified)) co_return invalid(failure->reason);
  auto& ok = std::get<auth::VerifiedToken>(verified);
  for (const auto& scope : oauth_.scopes)
    if (std::find(ok.scopes.begin(), ok.scopes.end(), scope) == ok.scopes.end())
      co_return Refusal{403, "insufficient_scope", "the token lacks the scope " + scope};
  auth::Caller caller(std::move(ok.user));
  caller.groups = std::move(ok.groups);
  caller.token_id = std::move(ok.token_id);
  caller.issuer = std::move(ok.issuer);
  co_return caller;
}

}  // namespace fleetmcp::oauth
