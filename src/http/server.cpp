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

#include <optional>

#include <cerrno>

#include "core/cancel.hpp"
#include "json/writer.hpp"

namespace fleetmcp::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

namespace {

// How long a keep-alive connection may sit idle, and how long a client may take
// to send one request or to accept one response, before we drop it (slowloris).
constexpr auto kReadTimeout = std::chrono::seconds(60);
constexpr auto kWriteTimeout = std::chrono::seconds(60);
// Header block limit: MCP requests carry a handful of short headers.
constexpr std::uint32_t kMaxHeaderBytes = 16 * 1024;

Response make_response(const Request& req, bhttp::status status, std::string body,
                       const char* content_type = "application/json") {
  Response res{status, req.version()};
  res.set(bhttp::field::server, "fleetmcp");
  res.set(bhttp::field::cache_control, "no-store");
  if (!body.empty()) res.set(bhttp::field::content_type, content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::optional<std::string> header(const Request& req, std::string_view name) {
  auto it = req.find(beast::string_view(name.data(), name.size()));
  if (it == req.end()) return std::nullopt;
  return std::string(it->value());
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, const config::Config& config, mcp::Dispatcher& dispatcher,
       const auth::TokenStore& tokens, pg::Database& db, ws::Endpoint& records)
      : io(io), config(config), dispatcher(dispatcher), tokens(tokens), db(db), records(records),
        acceptor(asio::make_strand(io)) {}

  asio::io_context& io;
  const config::Config& config;
  mcp::Dispatcher& dispatcher;
  const auth::TokenStore& tokens;
  pg::Database& db;
  ws::Endpoint& records;
  tcp::acceptor acceptor;

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::make_strand(io),
                                                          asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) continue;  // e.g. EMFILE: keep serving the connections we have
      socket.set_option(tcp::no_delay(true), ec);
      auto executor = socket.get_executor();
      asio::co_spawn(executor, session(std::move(socket)), asio::detached);
    }
  }

  awaitable<void> session(tcp::socket socket) {
    auto self = shared_from_this();
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(config.max_body_bytes);
      parser.header_limit(kMaxHeaderBytes);
      stream.expires_after(kReadTimeout);
      boost::system::error_code ec;
      co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
      if (ec == bhttp::error::body_limit) {
        Request head = parser.get();
        head.keep_alive(false);
        co_await send(stream, make_response(head, bhttp::status::payload_too_large,
                                            "{\"error\":\"request body larger than " +
                                                std::to_string(config.max_body_bytes) + " bytes\"}"));
        break;
      }
      if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
          ec == asio::error::connection_reset || ec == asio::error::eof)
        break;
      if (ec) {
        Request head;
        head.version(11);
        head.keep_alive(false);
        co_await send(stream, make_response(head, bhttp::status::bad_request,
                                            "{\"error\":\"malformed HTTP request\"}"));
        break;
      }
      Request req = parser.release();
      if (path_of(req) == ws::kPath && beast::websocket::is_upgrade(req)) {
        if (auto refused = refuse_foreign(req)) {
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
      std::optional<Response> res = co_await route(stream, req, cancel);
      boost::system::error_code ignored;
      stream.socket().cancel(ignored);  // ends the watch
      if (!res) {  // streamed as SSE, already complete
        if (cancel->cancelled() || !req.keep_alive()) break;
        continue;
      }
      if (!co_await send(stream, std::move(*res)) || !req.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
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

  static std::string_view path_of(const Request& req) {
    std::string_view target(req.target().data(), req.target().size());
    return target.substr(0, target.find('?'));
  }

  // nullopt when the response was streamed (SSE) by the endpoint itself.
  awaitable<std::optional<Response>> route(beast::tcp_stream& stream, Request& req, core::CancelPtr cancel) {
    const std::string_view path = path_of(req);
    if (path == "/healthz") {
      if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head)
        co_return method_not_allowed(req, "GET");
      co_return make_response(req, bhttp::status::ok, "{\"ok\":true}");
    }
    if (path == "/readyz") co_return co_await readiness(req);
    if (path == "/mcp" || path == "/") co_return co_await mcp_endpoint(stream, req, std::move(cancel));
    if (path == ws::kPath) {
      Response res = make_response(req, bhttp::status::upgrade_required,
                                   "{\"error\":\"/mcp/ws is a WebSocket endpoint: send a WebSocket upgrade\"}");
      res.set(bhttp::field::upgrade, "websocket");
      co_return res;
    }
    co_return make_response(req, bhttp::status::not_found, "{\"error\":\"not found\"}");
  }

  Response method_not_allowed(const Request& req, const char* allow) {
    Response res = make_response(req, bhttp::status::method_not_allowed,
                                 std::string("{\"error\":\"method not allowed; use ") + allow + "\"}");
    res.set(bhttp::field::allow, allow);
    return res;
  }

  awaitable<Response> readiness(const Request& req) {
    pg::Plan plan;
    plan.statements.push_back({"SELECT 1", {}});
    auto ran = co_await db.run(std::move(plan));
    if (ran) {
      // The self-audit's findings: an operator who overrode an unsafe role sees it here.
      std::string body = "{\"ready\":true";
      if (const auto warnings = dispatcher.role_warnings(); !warnings.empty()) {
        body += ",\"warnings\":[";
        for (std::size_t i = 0; i < warnings.size(); ++i) {
          if (i) body += ',';
          fleetmcp::json::append_string(body, warnings[i]);
        }
        body += "]";
      }
      co_return make_response(req, bhttp::status::ok, body + "}");
    }
    std::string body = "{\"ready\":false,\"reason\":";
    fleetmcp::json::append_string(body, ran.error().message);
    body += "}";
    co_return make_response(req, bhttp::status::service_unavailable, std::move(body));
  }

  // Names a browser may legitimately use for this server: loopback ones and the
  // configured MCP_ALLOWED_HOSTS. `authority` is host[:port], IPv6 in brackets.
  bool allowed_authority(std::string_view authority) const {
    std::string_view host = authority;
    if (!host.empty() && host.front() == '[') {
      host = host.substr(0, host.find(']') + 1);
    } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
      host = host.substr(0, colon);
    }
    std::string h(host);
    std::transform(h.begin(), h.end(), h.begin(), ::tolower);
    if (config::is_loopback_host(h)) return true;
    for (const auto& a : config.allowed_hosts) {
      std::string allowed = a;
      std::transform(allowed.begin(), allowed.end(), allowed.begin(), ::tolower);
      if (allowed == h || allowed == std::string(authority)) return true;
    }
    return false;
  }

  // DNS rebinding: a page on a foreign origin must not reach the server.
  std::optional<Response> refuse_foreign(const Request& req) const {
    using HostCheck = config::Config::HostCheck;
    if (config.host_check == HostCheck::Off) return std::nullopt;
    if (auto origin = header(req, "Origin"); origin && *origin != "null") {
      std::string_view o = *origin;
      const auto scheme = o.find("://");
      if (scheme == std::string_view::npos || !allowed_authority(o.substr(scheme + 3)))
        return make_response(req, bhttp::status::forbidden,
                             "{\"error\":\"forbidden: Origin not allowed (MCP_ALLOWED_HOSTS)\"}");
    }
    if (config.host_check == HostCheck::On || config::is_loopback_host(config.host)) {
      if (!allowed_authority(header(req, "Host").value_or("")))
        return make_response(req, bhttp::status::forbidden,
                             "{\"error\":\"forbidden: Host not allowed (MCP_ALLOWED_HOSTS)\"}");
    }
    return std::nullopt;
  }

  awaitable<std::optional<Response>> mcp_endpoint(beast::tcp_stream& stream, Request& req, core::CancelPtr cancel) {
    if (req.method() != bhttp::verb::post) co_return method_not_allowed(req, "POST");
    if (auto refused = refuse_foreign(req)) co_return std::move(*refused);
    std::string caller = "anonymous";
    if (!config.insecure_no_auth) {
      auto who = tokens.identify_header(header(req, "Authorization").value_or(""));
      if (!who) {
        Response res = make_response(req, bhttp::status::unauthorized,
                                     "{\"error\":\"unauthorized: send Authorization: Bearer <token>\"}");
        res.set(bhttp::field::www_authenticate, "Bearer realm=\"fleetmcp\"");
        co_return res;
      }
      caller = *who;
    }
    mcp::Headers headers;
    headers.http = true;
    headers.protocol_version = header(req, "MCP-Protocol-Version");
    headers.method = header(req, "Mcp-Method");
    headers.name = header(req, "Mcp-Name");
    constexpr std::string_view kParamPrefix = "mcp-param-";
    for (const auto& field : req) {
      const auto name = field.name_string();
      if (name.size() <= kParamPrefix.size() || !beast::iequals(name.substr(0, kParamPrefix.size()), kParamPrefix))
        continue;
      std::string param(name.substr(kParamPrefix.size()));
      std::transform(param.begin(), param.end(), param.begin(), ::tolower);
      headers.params[std::move(param)] = std::string(field.value());
    }
    // A client that accepts an event stream may get progress before the
    // response: the stream starts with the first notification.
    SseStream sse{stream, req};
    mcp::Notifier notify;
    if (accepts_event_stream(req)) notify = [&sse](std::string event) { return sse.send(std::move(event)); };
    mcp::Reply reply = co_await dispatcher.handle(std::move(req.body()), std::move(headers), std::move(caller),
                                                  cancel, std::move(notify));
    if (sse.started) {
      if (co_await sse.send(std::move(reply.body))) co_await sse.finish();
      else cancel->cancel();  // gone: end the connection
      co_return std::nullopt;
    }
    if (reply.body.empty()) co_return make_response(req, bhttp::status::accepted, {});
    co_return make_response(req, static_cast<bhttp::status>(reply.status), std::move(reply.body));
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

Server::Server(asio::io_context& io, const config::Config& config, mcp::Dispatcher& dispatcher,
               const auth::TokenStore& tokens, pg::Database& db, ws::Endpoint& records)
    : impl_(std::make_shared<Impl>(io, config, dispatcher, tokens, db, records)) {}

core::Result<unsigned short> Server::listen() {
  auto& acceptor = impl_->acceptor;
  const auto& config = impl_->config;
  boost::system::error_code ec;
  tcp::resolver resolver(impl_->io);
  auto endpoints = resolver.resolve(config.host, std::to_string(config.port),
                                    tcp::resolver::passive, ec);
  if (ec || endpoints.empty())
    return core::make_error(core::ErrorKind::BadRequest,
                            "MCP_HOST: cannot resolve '" + config.host + "': " + ec.message());
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return core::make_error(core::ErrorKind::BadRequest, "MCP_PORT: cannot listen on " + config.host +
                                                             ":" + std::to_string(config.port) + ": " +
                                                             ec.message());
  return acceptor.local_endpoint().port();
}

void Server::start() {
  asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), asio::detached);
}

void Server::stop() {
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
  });
}

}  // namespace fleetmcp::http
