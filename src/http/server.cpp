#include "http/server.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <variant>

#include <cerrno>

#include "core/cancel.hpp"
#include "http/compress.hpp"
#include "http/request.hpp"
#include "json/writer.hpp"
#include "metrics/exposition.hpp"
#include "oauth/resource.hpp"

namespace fleetmcp::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

// How long a keep-alive connection may sit idle, and how long a client may take
// to send one request or to accept one response, before we drop it (slowloris).
constexpr auto kReadTimeout = std::chrono::seconds(60);
// Until a connection has sent a request with a valid token, it has this long
// for each request's headers: a silent socket is not an analyst.
constexpr auto kUnprovenHeaderTimeout = std::chrono::seconds(10);
constexpr auto kWriteTimeout = std::chrono::seconds(60);
// Out of file descriptors (or kernel memory), accepting again at once would
// spin: wait this long and let finishing connections free some.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
// How stale /readyz's answer may be before a check starts a new probe.
constexpr auto kReadyProbeInterval = std::chrono::seconds(2);
// What a connection over MCP_MAX_CONNECTIONS gets before it is closed.
const std::string& too_many_connections() {
  static const std::string response = [] {
    const std::string body = "{\"error\":\"too many connections (MCP_MAX_CONNECTIONS); retry shortly\"}";
    return "HTTP/1.1 503 Service Unavailable\r\nServer: fleetmcp\r\nContent-Type: application/json\r\n"
           "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  return response;
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  Impl(std::vector<asio::io_context*> loops, const config::Config& config, mcp::Dispatcher& dispatcher,
       const auth::TokenStore& tokens, ReadinessProbe probe, ws::Endpoint& records, audit::Sink& audit)
      : loops(std::move(loops)),
        config(config),
        dispatcher(dispatcher),
        admission(config, tokens),
        ask_database(std::move(probe)),
        records(records),
        audit(audit),
        acceptor(*this->loops.front()) {}

  const std::vector<asio::io_context*> loops;  // each run by one thread
  std::size_t next_loop = 0;                   // the accept loop's alone
  const config::Config& config;
  mcp::Dispatcher& dispatcher;
  const Admission admission;
  ReadinessProbe ask_database;
  ws::Endpoint& records;
  audit::Sink& audit;
  tcp::acceptor acceptor;

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      boost::system::error_code ec;
      // Accepted on the listener's own loop: a pending accept holding a socket
      // of another loop would outlive that loop when the server is destroyed.
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {  // e.g. EMFILE: keep serving the connections we have, and retry soon
        asio::steady_timer backoff(acceptor.get_executor(), kAcceptBackoff);
        co_await backoff.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      if (connections.load() >= config.max_connections && !evict_oldest_unproven()) {
        // Refused in one non-blocking write, so a flood holds no descriptor
        // longer than this line.
        socket.non_blocking(true, ec);
        const std::string& refusal = too_many_connections();
        ::send(socket.native_handle(), refusal.data(), refusal.size(), MSG_NOSIGNAL);
        socket.close(ec);
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      // Connections take the loops in turn, and each lives on its loop alone:
      // the descriptor moves there.
      asio::io_context& loop = *loops[next_loop++ % loops.size()];
      const auto protocol = socket.local_endpoint(ec).protocol();
      if (ec) continue;  // the client left already; `socket` closes it
      const auto fd = socket.release(ec);
      if (ec) continue;
      tcp::socket moved(loop);
      moved.assign(protocol, fd, ec);
      if (ec) {
        ::close(fd);
        continue;
      }
      asio::co_spawn(loop, session(std::move(moved)), asio::detached);
    }
  }

  // Open client connections, against MCP_MAX_CONNECTIONS.
  std::atomic<int> connections{0};
  struct ConnectionSlot {
    std::atomic<int>& count;
    explicit ConnectionSlot(std::atomic<int>& c) : count(c) { ++count; }
    ~ConnectionSlot() { --count; }
  };

  // Connections that have not yet sent a request with a valid token, oldest
  // first (by arrival), by descriptor. At MCP_MAX_CONNECTIONS a new
  // connection takes the place of the oldest of them, so silent or tokenless
  // sockets cannot keep analysts out; only a house full of proven
  // connections answers 503.
  std::mutex unproven_mu;
  std::map<std::uint64_t, int> unproven;
  std::uint64_t arrivals = 0;
  struct Unproven {
    Impl& impl;
    std::uint64_t arrival;
    Unproven(Impl& i, int fd) : impl(i) {
      std::lock_guard lock(impl.unproven_mu);
      arrival = ++impl.arrivals;
      impl.unproven.emplace(arrival, fd);
    }
    // Must run before the descriptor closes: eviction shuts it down under the lock.
    ~Unproven() { prove(); }
    void prove() {
      std::lock_guard lock(impl.unproven_mu);
      impl.unproven.erase(arrival);
    }
    bool proven() {
      std::lock_guard lock(impl.unproven_mu);
      return !impl.unproven.count(arrival);
    }
  };

  // Ends the oldest unproven connection (its session sees end of stream);
  // false when every connection is proven.
  bool evict_oldest_unproven() {
    std::lock_guard lock(unproven_mu);
    if (unproven.empty()) return false;
    ::shutdown(unproven.begin()->second, SHUT_RDWR);
    unproven.erase(unproven.begin());
    return true;
  }

  awaitable<void> session(tcp::socket socket) {
    auto self = shared_from_this();
    ConnectionSlot slot(connections);
    beast::tcp_stream stream(std::move(socket));
    Unproven mark(*this, stream.socket().native_handle());    // declared after the stream: gone before it closes
    std::optional<ratelimit::CallerLimits::Connection> held;  // the first caller's connection slot
    beast::flat_buffer buffer;
    for (;;) {
      Parser parser;
      limit(parser, config);
      stream.expires_after(mark.proven() ? kReadTimeout : kUnprovenHeaderTimeout);
      boost::system::error_code ec;
      // The headers first: what they alone decide (token, Host, media type)
      // is answered before a body is read or held.
      co_await bhttp::async_read_header(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
      auth::Caller caller;
      if (!ec) {
        if (auto refused = refuse_framing(parser.get())) {
          co_await send(stream, std::move(*refused));
          break;
        }
        auto admitted = admission.admit(parser.get());
        if (auto* refused = std::get_if<Response>(&admitted)) {
          if (refused->result() == bhttp::status::unauthorized)
            audit.unauthorized(peer_address(stream.socket()), unauthorized_reason(parser.get()));
          refused->keep_alive(false);  // the unread body must not be taken for a next request
          co_await send(stream, std::move(*refused));
          break;
        }
        auto& ok = std::get<Admitted>(admitted);
        if (!ok.access_token.empty()) {
          auto verdict = co_await oauth->verify(std::move(ok.access_token));
          if (auto* refusal = std::get_if<oauth::Refusal>(&verdict)) {
            audit.unauthorized(peer_address(stream.socket()), refusal->description);
            Response res = admission.refuse_token(parser.get(), refusal->status, refusal->error, refusal->description);
            res.keep_alive(false);
            co_await send(stream, std::move(res));
            break;
          }
          ok.caller = std::get<auth::Caller>(std::move(verdict));
        }
        caller = std::move(ok.caller);
        if (!caller.name.empty() && !held && limits) {
          if (auto slot = limits->connect(caller.name, config.connections_per_caller)) {
            held.emplace(std::move(*slot));
          } else {
            Response res = make_response(parser.get(), bhttp::status::too_many_requests,
                                         "{\"error\":\"too many open connections for one analyst "
                                         "(MCP_CONNECTIONS_PER_CALLER = " +
                                             std::to_string(config.connections_per_caller) +
                                             "): reuse or close the ones you have\"}");
            res.set(bhttp::field::retry_after, "1");
            res.keep_alive(false);
            co_await send(stream, std::move(res));
            break;
          }
        }
        if (!caller.name.empty() && !config.insecure_no_auth) mark.prove();
        stream.expires_after(kReadTimeout);  // for the body
        if (!parser.is_done())
          co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
      }
      if (ec == bhttp::error::body_limit) {
        Request head = parser.get();
        head.keep_alive(false);
        co_await send(stream, make_response(head, bhttp::status::payload_too_large,
                                            "{\"error\":\"request body larger than " +
                                                std::to_string(config.max_body_bytes) + " bytes\"}"));
        break;
      }
      if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::connection_reset ||
          ec == asio::error::eof)
        break;
      if (ec) {
        Request head;
        head.version(11);
        head.keep_alive(false);
        co_await send(stream,
                      make_response(head, bhttp::status::bad_request, "{\"error\":\"malformed HTTP request\"}"));
        break;
      }
      Request req = parser.release();
      if (path_of(req) == ws::kPath && beast::websocket::is_upgrade(req)) {
        if (auto refused = admission.refuse_foreign(req)) {
          co_await send(stream, std::move(*refused));
          break;
        }
        // The record API takes the connection over; this coroutine ends with it.
        co_await records.serve(std::move(stream), std::move(req));
        co_return;
      }
      stream.expires_never();  // a tool call may run as long as its statement timeout
      auto cancel = std::make_shared<core::CancelSignal>();
      watch_for_hangup(stream.socket(), cancel);
      std::optional<Response> res = co_await route(stream, req, std::move(caller), cancel);
      boost::system::error_code ignored;
      stream.socket().cancel(ignored);  // ends the watch
      if (!res) {                       // streamed as SSE, already complete
        if (cancel->cancelled() || !req.keep_alive()) break;
        continue;
      }
      if (!co_await send(stream, std::move(*res)) || !req.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  static std::string peer_address(const tcp::socket& socket) {
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    return ec ? "unknown" : peer.address().to_string();
  }

  // While a request runs nobody reads the socket; this waits for it to become
  // readable. End of stream means the client gave up: cancel its query. Bytes
  // mean a pipelined next request: leave them for the next read.
  static void watch_for_hangup(tcp::socket& socket, const core::CancelPtr& cancel) {
    socket.async_wait(tcp::socket::wait_read, [&socket, cancel](boost::system::error_code ec) {
      if (ec) return;  // cancelled when the response is ready, or the socket closed
      char byte;
      const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) cancel->cancel();
    });
  }

  awaitable<bool> send(beast::tcp_stream& stream, Response res) {
    stream.expires_after(kWriteTimeout);
    boost::system::error_code ec;
    co_await bhttp::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
    co_return !ec;
  }

  // nullopt when the response was streamed (SSE) by the endpoint itself.
  awaitable<std::optional<Response>> route(beast::tcp_stream& stream, Request& req, auth::Caller caller,
                                           core::CancelPtr cancel) {
    const std::string_view path = path_of(req);
    if (path == "/healthz") {
      if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head)
        co_return method_not_allowed(req, "GET");
      co_return make_response(req, bhttp::status::ok, "{\"ok\":true}");
    }
    if (path == "/readyz") {
      if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head)
        co_return method_not_allowed(req, "GET");
      co_return co_await readiness(stream.socket(), req);
    }
    if (oauth && is_metadata_path(path)) {
      if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head)
        co_return method_not_allowed(req, "GET");
      Response res = make_response(req, bhttp::status::ok, oauth::metadata_json(config.oauth));
      // Public by nature: a browser-based client may read it from any origin.
      res.set(bhttp::field::access_control_allow_origin, "*");
      co_return res;
    }
    if ((path == "/metrics" || path == "/status") && admission.has_operators())
      co_return operator_page(stream.socket(), req, path);
    if (is_mcp_path(path)) co_return co_await mcp_endpoint(stream, req, std::move(caller), std::move(cancel));
    if (path == ws::kPath) {
      Response res = make_response(req, bhttp::status::upgrade_required,
                                   "{\"error\":\"/mcp/ws is a WebSocket endpoint: send a WebSocket upgrade\"}");
      res.set(bhttp::field::upgrade, "websocket");
      co_return res;
    }
    co_return make_response(req, bhttp::status::not_found, "{\"error\":\"not found\"}");
  }

  OperatorPages pages;
  oauth::Verifier* oauth = nullptr;         // set with MCP_OAUTH_ISSUERS
  std::vector<std::string> metadata_paths;  // where the protected-resource metadata is answered
  ratelimit::CallerLimits* limits = nullptr;

  // /metrics and /status: an operator's token (Bearer, or Basic for a
  // browser), never an analyst's; from a browser, only on an allowed Host and
  // Origin like /mcp.
  Response operator_page(const tcp::socket& socket, const Request& req, std::string_view path) {
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) return method_not_allowed(req, "GET");
    if (auto refused = admission.refuse_foreign(req)) return std::move(*refused);
    if (!admission.operator_name(req)) {
      audit.unauthorized(peer_address(socket),
                         header(req, "Authorization") ? "unknown operator token" : "no Authorization header");
      Response res = make_response(req, bhttp::status::unauthorized,
                                   "{\"error\":\"unauthorized: send an operator token (MCP_OPERATOR_TOKENS) as "
                                   "Authorization: Bearer <token>, or as Basic with the operator's name\"}");
      // Basic first: a browser then asks for the operator's name and token.
      res.set(bhttp::field::www_authenticate,
              "Basic realm=\"fleetmcp operator\", charset=\"UTF-8\", Bearer realm=\"fleetmcp operator\"");
      return res;
    }
    Response res = path == "/metrics"
                       ? make_response(req, bhttp::status::ok, pages.metrics(), metrics::kContentType)
                       : make_response(req, bhttp::status::ok, pages.status(), "text/html; charset=utf-8");
    res.set("X-Content-Type-Options", "nosniff");
    if (path == "/status") {
      // No script, no external asset, no framing: the page's content is the analysts' SQL.
      res.set(
          "Content-Security-Policy",
          "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
      res.set("Referrer-Policy", "no-referrer");
    }
    return res;
  }

  // /readyz answers from the last probe (SELECT 1), so a flood of
  // unauthenticated checks costs the database at most one probe per
  // kReadyProbeInterval and never waits in the pool's queue. Until a first
  // probe has answered, a check probes itself.
  struct Readiness {
    std::mutex mu;
    bool known = false, probing = false;
    std::optional<core::Error> failure;  // none: ready
    std::chrono::steady_clock::time_point probed_at;
  } ready_state;

  awaitable<void> probe() {
    auto self = shared_from_this();  // a probe may outlive the check that started it
    const core::Status ran = co_await ask_database();
    std::lock_guard lock(ready_state.mu);
    ready_state.probing = false;
    // A full pool says nothing about the database: keep what was known.
    if (!ran && ran.error().kind == core::ErrorKind::Busy && ready_state.known) co_return;
    ready_state.known = true;
    ready_state.failure = ran ? std::nullopt : std::optional<core::Error>(ran.error());
    ready_state.probed_at = std::chrono::steady_clock::now();
  }

  // /readyz is unauthenticated: anyone gets the status and a short reason;
  // the cause (libpq's message names the host, port and user) and the
  // self-audit's findings go only to a check made on this host: from a
  // loopback address, to a loopback name (a proxy forwarding its public name,
  // or a page rebound to 127.0.0.1, sends another Host), not from a browser
  // (no Origin), and with no header a proxy or CDN adds.
  static bool operator_check(const tcp::socket& socket, const Request& req) {
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec || !peer.address().is_loopback()) return false;
    const auto host = req.find(bhttp::field::host);
    if (host == req.end() || !loopback_authority(host->value())) return false;
    for (const char* marker : {"Origin", "Forwarded", "Via", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
                               "X-Real-IP", "X-Client-IP", "X-Original-Forwarded-For", "CF-Connecting-IP",
                               "True-Client-IP", "Fastly-Client-IP", "X-Cluster-Client-IP"})
      if (req.find(marker) != req.end()) return false;
    // Any other header a proxy, CDN or load balancer adds, whatever it calls
    // it, and the fetch metadata a browser sends.
    for (const auto& h : req) {
      std::string name(h.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (const char* prefix : {"x-forwarded", "x_forwarded", "x-envoy-", "x-amzn-", "cf-", "cdn-loop", "x-proxyuser",
                                 "x-azure-", "x-appengine-", "fly-", "sec-fetch-"})
        if (name.rfind(prefix, 0) == 0) return false;
      if (name.find("client-ip") != std::string::npos || name.find("real-ip") != std::string::npos) return false;
    }
    return true;
  }

  // localhost, 127.0.0.1 or [::1], with or without a port.
  static bool loopback_authority(std::string_view authority) {
    for (std::string_view name : {"localhost", "127.0.0.1", "[::1]"}) {
      if (authority.substr(0, name.size()) != name) continue;
      const auto port = authority.substr(name.size());
      if (port.empty() ||
          (port.size() > 1 && port[0] == ':' && port.find_first_not_of("0123456789", 1) == std::string_view::npos))
        return true;
    }
    return false;
  }

  static const char* short_reason(const core::Error& e) {
    using core::ErrorKind;
    if (e.kind == ErrorKind::Unavailable && e.lasting) return "the database refused the server's login";
    if (e.kind == ErrorKind::Unavailable) return "the database is unreachable";
    if (e.kind == ErrorKind::Timeout) return "the database did not answer in time";
    if (e.kind == ErrorKind::Denied) return "the database role was refused by the self-audit";
    return "the database is not ready";
  }

  awaitable<Response> readiness(const tcp::socket& socket, const Request& req) {
    bool known, refresh = false;
    {
      std::lock_guard lock(ready_state.mu);
      known = ready_state.known;
      if (known && !ready_state.probing &&
          std::chrono::steady_clock::now() - ready_state.probed_at >= kReadyProbeInterval)
        refresh = ready_state.probing = true;
    }
    if (!known) co_await probe();
    if (refresh) asio::co_spawn(acceptor.get_executor(), probe(), asio::detached);
    std::optional<core::Error> failure;
    {
      std::lock_guard lock(ready_state.mu);
      failure = ready_state.failure;
    }
    const bool details = operator_check(socket, req) || admission.operator_name(req);
    if (!failure) {
      std::string body = "{\"ready\":true";
      // The self-audit's findings: an operator who overrode an unsafe role sees it here.
      if (const auto warnings = dispatcher.role_warnings(); details && !warnings.empty()) {
        body += ",\"warnings\":[";
        for (std::size_t i = 0; i < warnings.size(); ++i) {
          if (i) body += ',';
          fleetmcp::json::append_string(body, warnings[i]);
        }
        body += "]";
      }
      // With OAuth: whether tokens can be verified yet (the issuers' keys are in hand).
      if (details && oauth) body += std::string(",\"oauth_keys\":") + (oauth->has_keys() ? "true" : "false");
      co_return make_response(req, bhttp::status::ok, body + "}");
    }
    std::string body = "{\"ready\":false,\"reason\":";
    fleetmcp::json::append_string(body, short_reason(*failure));
    if (details) {
      body += ",\"detail\":";
      fleetmcp::json::append_string(body, failure->message);
    }
    body += "}";
    co_return make_response(req, bhttp::status::service_unavailable, std::move(body));
  }

  bool is_metadata_path(std::string_view path) const {
    return std::find(metadata_paths.begin(), metadata_paths.end(), path) != metadata_paths.end();
  }

  awaitable<std::optional<Response>> mcp_endpoint(beast::tcp_stream& stream, Request& req, auth::Caller caller,
                                                  core::CancelPtr cancel) {
    mcp::Headers headers = mcp_headers(req);
    // A client that accepts an event stream may get progress before the
    // response: the stream starts with the first notification.
    SseStream sse{stream, req};
    mcp::Notifier notify;
    if (accepts_event_stream(req)) notify = [&sse](std::string event) { return sse.send(std::move(event)); };
    mcp::Reply reply = co_await dispatcher.handle(std::move(req.body()), std::move(headers), std::move(caller), cancel,
                                                  std::move(notify));
    if (sse.started) {
      if (co_await sse.send(std::move(reply.body)))
        co_await sse.finish();
      else
        cancel->cancel();  // gone: end the connection
      co_return std::nullopt;
    }
    if (reply.body.empty()) co_return make_response(req, bhttp::status::accepted, {});
    Response res = make_response(req, static_cast<bhttp::status>(reply.status), std::move(reply.body));
    compress_for(req, res, config.gzip_min_bytes);
    if (reply.retry_after_s > 0) res.set(bhttp::field::retry_after, std::to_string(reply.retry_after_s));
    co_return res;
  }

  static bool accepts_event_stream(const Request& req) {
    if (req.version() < 11) return false;  // SSE needs chunked transfer here
    auto accept = header(req, "Accept");
    return accept && accept->find("text/event-stream") != std::string::npos;
  }

  // One response as Server-Sent Events over chunked transfer: each message is
  // an event; the final JSON-RPC response ends the stream.
  struct SseStream {
    beast::tcp_stream& stream;
    const Request& req;
    bool started = false;

    awaitable<bool> send(std::string message) {
      boost::system::error_code ec;
      stream.expires_after(kWriteTimeout);
      if (!started) {
        started = true;
        bhttp::response<bhttp::empty_body> head{bhttp::status::ok, req.version()};
        head.set(bhttp::field::server, "fleetmcp");
        head.set(bhttp::field::content_type, "text/event-stream");
        head.set(bhttp::field::cache_control, "no-store");
        head.set("X-Accel-Buffering", "no");  // proxies must pass events on at once
        head.keep_alive(req.keep_alive());
        head.chunked(true);
        bhttp::response_serializer<bhttp::empty_body> serializer{head};
        co_await bhttp::async_write_header(stream, serializer, asio::redirect_error(use_awaitable, ec));
        if (ec) co_return false;
      }
      std::string event = "event: message\ndata: " + message + "\n\n";
      co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(event)),
                                 asio::redirect_error(use_awaitable, ec));
      stream.expires_never();
      co_return !ec;
    }

    awaitable<void> finish() {
      boost::system::error_code ec;
      stream.expires_after(kWriteTimeout);
      co_await asio::async_write(stream, bhttp::make_chunk_last(), asio::redirect_error(use_awaitable, ec));
      stream.expires_never();
    }
  };
};

Server::Server(std::vector<asio::io_context*> loops, const config::Config& config, mcp::Dispatcher& dispatcher,
               const auth::TokenStore& tokens, ReadinessProbe probe, ws::Endpoint& records, audit::Sink& audit)
    : impl_(std::make_shared<Impl>(std::move(loops), config, dispatcher, tokens, std::move(probe), records, audit)) {}

void Server::set_operator_pages(OperatorPages pages) { impl_->pages = std::move(pages); }

void Server::set_oauth(oauth::Verifier& verifier) {
  impl_->oauth = &verifier;
  impl_->metadata_paths = oauth::metadata_paths(impl_->config.oauth);
}

void Server::set_caller_limits(ratelimit::CallerLimits& limits) { impl_->limits = &limits; }

int Server::connections() const { return impl_->connections.load(); }

core::Result<unsigned short> Server::listen() {
  auto& acceptor = impl_->acceptor;
  const auto& config = impl_->config;
  boost::system::error_code ec;
  tcp::resolver resolver(*impl_->loops.front());
  auto endpoints = resolver.resolve(config.host, std::to_string(config.port), tcp::resolver::passive, ec);
  if (ec || endpoints.empty())
    return core::make_error(core::ErrorKind::BadRequest,
                            "MCP_HOST: cannot resolve '" + config.host + "': " + ec.message());
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return core::make_error(core::ErrorKind::BadRequest, "MCP_PORT: cannot listen on " + config.host + ":" +
                                                             std::to_string(config.port) + ": " + ec.message());
  return acceptor.local_endpoint().port();
}

void Server::start() { asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), asio::detached); }

void Server::stop() {
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
  });
}

}  // namespace fleetmcp::http
