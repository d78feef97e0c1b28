#include "ws/session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <set>

#include "ratelimit/token_bucket.hpp"

namespace fleetmcp::ws {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

namespace {

// Bounds on one connection, each against a client that would hold the server:
// the opening and closing handshakes must finish in this time (half-open
// upgrades, clients that never answer a close);
constexpr auto kHandshakeTimeout = std::chrono::seconds(15);
// requests running at once (one client cannot take the whole pool; the pool's
// FIFO queue keeps the rest fair);
constexpr std::size_t kMaxInFlight = 8;
// answers waiting to be written: more means the client stopped reading while
// still sending, and its answers would pile up in our memory;
constexpr std::size_t kMaxQueuedFrames = 32;
// and a message beyond MCP_WS_MAX_MESSAGE_BYTES is read in chunks of this
// size and dropped, so its size costs no memory. Past Beast's ceiling (16 MiB,
// its default) the connection is failed with close code 1009.
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kMessageCeiling = 16 << 20;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view header(const UpgradeRequest& req, std::string_view name) {
  auto it = req.find(beast::string_view(name.data(), name.size()));
  return it == req.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

// Who is calling: X-MCP-Token (the seed's preferred way), else ?token=, else
// Authorization: Bearer. Only the first one present counts.
std::optional<std::string> identify(const auth::TokenStore& tokens, const UpgradeRequest& req) {
  if (auto token = header(req, "X-MCP-Token"); !token.empty()) return tokens.identify(token);
  const std::string_view target(req.target().data(), req.target().size());
  if (auto token = query_parameter(target, "token")) return tokens.identify(*token);
  if (auto authorization = header(req, "Authorization"); !authorization.empty())
    return tokens.identify_header(authorization);
  return std::nullopt;
}

std::vector<config::Token> tokens_of(const config::Config& config) {
  std::vector<config::Token> all = config.auth_tokens;
  if (!config.ws_token.empty()) all.push_back({config::kSharedTokenCaller, config.ws_token});
  return all;
}

}  // namespace

std::optional<std::string> query_parameter(std::string_view target, std::string_view name) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    const std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    std::string value;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '%') {
        value.push_back(raw[i]);
        continue;
      }
      const int hi = i + 2 < raw.size() ? hex_value(raw[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(raw[i + 2]) : -1;
      if (lo < 0) return std::nullopt;
      value.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
    return value;
  }
  return std::nullopt;
}

// One connection. Everything here runs on the connection's strand (the
// socket's executor), so its state needs no lock.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Endpoint& endpoint, beast::tcp_stream stream)
      : endpoint_(endpoint),
        config_(endpoint.config_),
        ws_(std::move(stream)),
        idle_timer_(ws_.get_executor()),
        bucket_(config_.ws_rate_limit, std::chrono::seconds(60), Clock::now()) {
    ++endpoint_.sessions_;
  }
  ~Session() { --endpoint_.sessions_; }

  awaitable<void> run(UpgradeRequest upgrade);

 private:
  // One received message: its first MCP_WS_MAX_MESSAGE_BYTES bytes and its size.
  struct Message {
    std::string text;
    std::size_t size = 0;
  };
  awaitable<std::optional<Message>> read_message();
  awaitable<void> answer(std::string text, core::CancelPtr cancel);
  awaitable<void> refuse_connection(std::string error);
  void send(std::string frame);
  void close_after_sending(websocket::close_reason reason);
  awaitable<void> write_queued();
  awaitable<void> watch_idle();

  Endpoint& endpoint_;
  const config::Config& config_;
  websocket::stream<beast::tcp_stream> ws_;
  asio::steady_timer idle_timer_;
  ratelimit::TokenBucket bucket_;
  std::string caller_;
  Clock::time_point last_activity_ = Clock::now();  // a request read or answered
  std::deque<std::string> outbox_;
  bool writing_ = false;                            // write_queued() is running
  bool writable_ = true;                            // false once a write failed or the close was sent
  std::optional<websocket::close_reason> closing_;  // set: close once the queue is written
  std::set<core::CancelPtr> running_;               // requests in flight
};

awaitable<void> Session::run(UpgradeRequest upgrade) {
  auto self = shared_from_this();
  // Keep-alive: after a ping interval of silence Beast pings; with nothing
  // back within another, the connection is dead and is dropped.
  ws_.set_option(websocket::stream_base::timeout{
      kHandshakeTimeout, std::chrono::seconds(2 * config_.ws_ping_interval_s), /*keep_alive_pings=*/true});
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "fleetmcp"); }));
  ws_.read_message_max(kMessageCeiling);
  boost::system::error_code ec;
  co_await ws_.async_accept(upgrade, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return;
  ws_.text(true);

  RecordApi& api = endpoint_.api_;
  if (!config_.ws_enabled) co_return co_await refuse_connection("MCP server is disabled");
  auto caller = identify(endpoint_.tokens_, upgrade);
  if (!caller) {
    api.audit_event("unknown", "ws:connect", "denied", "unauthorized");
    co_return co_await refuse_connection("Invalid authentication token");
  }
  caller_ = std::move(*caller);
  // The caller's open connections, counted with their HTTP ones.
  std::optional<ratelimit::CallerLimits::Connection> held;
  if (auto* limits = api.limits()) {
    if (auto slot = limits->connect(caller_, config_.connections_per_caller)) {
      held.emplace(std::move(*slot));
    } else {
      api.audit_event(caller_, "ws:connect", "limited", "too many open connections (MCP_CONNECTIONS_PER_CALLER)");
      co_return co_await refuse_connection("Too many open connections for one analyst (MCP_CONNECTIONS_PER_CALLER = " +
                                           std::to_string(config_.connections_per_caller) + ")");
    }
  }
  api.audit_event(caller_, "ws:connect", "ok", "");
  asio::co_spawn(ws_.get_executor(), watch_idle(), asio::detached);

  // Always reading: pings get their pongs, a hang-up is seen at once, and a
  // close completes here (a read ending with websocket::error::closed).
  for (;;) {
    auto message = co_await read_message();
    if (!message) break;
    if (closing_) continue;  // closing: what the client still sends goes unanswered
    last_activity_ = Clock::now();
    if (!bucket_.try_take(last_activity_)) {
      api.audit_event(caller_, "ws:rate_limit", "denied", "rate_limited");
      send(error_frame(std::nullopt,
                       "Rate limit exceeded: " + std::to_string(bucket_.capacity()) + " requests per 60s"));
      close_after_sending({websocket::close_code::policy_error, "rate limit exceeded"});
      continue;
    }
    if (message->size > config_.ws_max_message_bytes) {
      send(api.refuse(
          message->text, caller_,
          core::make_error(core::ErrorKind::BadRequest,
                           "Message too large: " + std::to_string(message->size) + " bytes (limit " +
                               std::to_string(config_.ws_max_message_bytes) + ", MCP_WS_MAX_MESSAGE_BYTES)")));
      continue;
    }
    if (running_.size() >= kMaxInFlight) {
      send(api.refuse(message->text, caller_,
                      core::make_error(core::ErrorKind::Busy,
                                       "Too many requests in flight on this connection (at most " +
                                           std::to_string(kMaxInFlight) + "): wait for answers before sending more")));
      continue;
    }
    auto cancel = std::make_shared<core::CancelSignal>();
    running_.insert(cancel);
    asio::co_spawn(ws_.get_executor(), answer(std::move(message->text), std::move(cancel)), asio::detached);
  }
  // The client hung up, or the close is complete: stop what it asked for.
  writable_ = false;
  for (const auto& cancel : running_) cancel->cancel();
  idle_timer_.cancel();
}

awaitable<std::optional<Session::Message>> Session::read_message() {
  Message m;
  const std::size_t keep = config_.ws_max_message_bytes;
  beast::flat_buffer chunk;
  do {
    boost::system::error_code ec;
    const std::size_t n = co_await ws_.async_read_some(chunk, kReadChunk, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return std::nullopt;
    m.size += n;
    const auto data = chunk.data();
    m.text.append(static_cast<const char*>(data.data()), std::min(data.size(), keep - m.text.size()));
    chunk.consume(chunk.size());
  } while (!ws_.is_message_done());
  co_return m;
}

awaitable<void> Session::answer(std::string text, core::CancelPtr cancel) {
  auto self = shared_from_this();
  std::string frame = co_await endpoint_.api_.answer(std::move(text), caller_, cancel);
  running_.erase(cancel);
  last_activity_ = Clock::now();
  send(std::move(frame));
}

// Before any request: the seed's error frame, then a policy close.
awaitable<void> Session::refuse_connection(std::string error) {
  boost::system::error_code ec;
  const std::string frame = error_frame(std::nullopt, error);
  co_await ws_.async_write(asio::buffer(frame), asio::redirect_error(use_awaitable, ec));
  if (!ec) co_await ws_.async_close({websocket::close_code::policy_error}, asio::redirect_error(use_awaitable, ec));
}

void Session::send(std::string frame) {
  if (!writable_ || closing_) return;
  if (outbox_.size() >= kMaxQueuedFrames) {
    // Still sending, no longer reading: drop the connection rather than buffer.
    writable_ = false;
    beast::get_lowest_layer(ws_).close();
    return;
  }
  outbox_.push_back(std::move(frame));
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(ws_.get_executor(), write_queued(), asio::detached);
  }
}

void Session::close_after_sending(websocket::close_reason reason) {
  if (closing_ || !writable_) return;
  closing_ = reason;
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(ws_.get_executor(), write_queued(), asio::detached);
  }
}

// The only writer: frames in order, then the close if one was asked for
// (Beast allows one write at a time, a close included).
awaitable<void> Session::write_queued() {
  auto self = shared_from_this();
  boost::system::error_code ec;
  while (writable_ && !outbox_.empty()) {
    const std::string frame = std::move(outbox_.front());
    outbox_.pop_front();
    co_await ws_.async_write(asio::buffer(frame), asio::redirect_error(use_awaitable, ec));
    if (ec) writable_ = false;
  }
  outbox_.clear();
  if (writable_ && closing_) {
    writable_ = false;
    co_await ws_.async_close(*closing_, asio::redirect_error(use_awaitable, ec));
  }
  writing_ = false;
}

// Closes the connection after MCP_WS_IDLE_TIMEOUT without a request; a
// request still running counts as activity.
awaitable<void> Session::watch_idle() {
  auto self = shared_from_this();
  const auto idle = std::chrono::seconds(config_.ws_idle_timeout_s);
  for (;;) {
    idle_timer_.expires_at(last_activity_ + idle);
    boost::system::error_code ec;
    co_await idle_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (ec || !writable_ || closing_) co_return;
    if (!running_.empty()) {
      last_activity_ = Clock::now();
    } else if (Clock::now() >= last_activity_ + idle) {
      close_after_sending({websocket::close_code::normal, "idle timeout"});
      co_return;
    }
  }
}

Endpoint::Endpoint(const config::Config& config, pg::Database& db, audit::Sink& audit)
    : config_(config), tokens_(tokens_of(config)), api_(config, db, audit) {}

awaitable<void> Endpoint::serve(beast::tcp_stream stream, UpgradeRequest upgrade) {
  // The websocket stream keeps its own timeouts; the TCP stream's must be off.
  stream.expires_never();
  auto session = std::make_shared<Session>(*this, std::move(stream));
  co_await session->run(std::move(upgrade));
}

}  // namespace fleetmcp::ws
