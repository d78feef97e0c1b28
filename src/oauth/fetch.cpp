#include "oauth/fetch.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <utility>

#include <openssl/ssl.h>

namespace fleetmcp::oauth {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;
using core::ErrorKind;
using core::make_error;

core::Error failed(const std::string& url, const std::string& why) {
  return make_error(ErrorKind::Unavailable, "GET " + url + ": " + why);
}

// The TLS client context: system CAs, peer verification. One for the process.
asio::ssl::context& tls_context() {
  static asio::ssl::context ctx = [] {
    asio::ssl::context c(asio::ssl::context::tls_client);
    c.set_default_verify_paths();
    c.set_verify_mode(asio::ssl::verify_peer);
    c.set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1);
    return c;
  }();
  return ctx;
}

template <class Stream>
asio::awaitable<core::Result<std::string>> exchange(Stream& stream, const Url& u, const std::string& url,
                                                    std::size_t max_bytes) {
  boost::system::error_code ec;
  http::request<http::empty_body> req{http::verb::get, u.target, 11};
  // The URL's authority, port included (RFC 9110 7.2): issuers build the
  // URLs of their metadata from it.
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  if (u.port != (u.tls ? "443" : "80")) host += ":" + u.port;
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "fleetmcp");
  req.set(http::field::accept, "application/json");
  co_await http::async_write(stream, req, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return failed(url, "sending the request: " + ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(max_bytes);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
  if (ec == http::error::body_limit)
    co_return failed(url, "the document is larger than " + std::to_string(max_bytes) + " bytes");
  if (ec) co_return failed(url, "reading the response: " + ec.message());
  const auto& res = parser.get();
  if (res.result() != http::status::ok)
    co_return failed(url, "answered HTTP " + std::to_string(res.result_int()) + " (redirects are not followed)");
  co_return res.body();
}

}  // namespace

core::Result<Url> parse_url(const std::string& url) {
  Url u;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    u.tls = false;
    rest = url.substr(7);
  } else {
    return make_error(ErrorKind::BadRequest, "'" + url + "' is not an https:// URL");
  }
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.find('@') != std::string::npos)
    return make_error(ErrorKind::BadRequest, "'" + url + "' carries credentials");
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) return make_error(ErrorKind::BadRequest, "'" + url + "' has an unclosed [");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') u.port = authority.substr(close + 2);
  } else {
    const auto colon = authority.find(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) u.port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return make_error(ErrorKind::BadRequest, "'" + url + "' names no host");
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  if (u.port.find_first_not_of("0123456789") != std::string::npos || u.port.size() > 5)
    return make_error(ErrorKind::BadRequest, "'" + url + "' has a bad port");
  return u;
}

asio::awaitable<core::Result<std::string>> fetch(std::string url, std::chrono::milliseconds timeout,
                                                 std::size_t max_bytes) {
  auto parsed = parse_url(url);
  if (!parsed) co_return parsed.error();
  const Url u = *parsed;
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(ex);
  // (Resolution runs on Asio's own resolver thread: the loop does not wait.)
  auto endpoints = co_await resolver.async_resolve(u.host, u.port, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return failed(url, "cannot resolve " + u.host + ": " + ec.message());
  if (!u.tls) {
    beast::tcp_stream stream(ex);
    stream.expires_after(timeout);
    co_await stream.async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return failed(url, "cannot connect: " + ec.message());
    auto body = co_await exchange(stream, u, url, max_bytes);
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    co_return body;
  }
  beast::ssl_stream<beast::tcp_stream> stream(ex, tls_context());
  beast::get_lowest_layer(stream).expires_after(timeout);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str()))
    co_return failed(url, "cannot set the TLS server name");
  stream.set_verify_callback(asio::ssl::host_name_verification(u.host));
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return failed(url, "cannot connect: " + ec.message());
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return failed(url, "TLS handshake: " + ec.message());
  auto body = co_await exchange(stream, u, url, max_bytes);
  co_return body;
}

}  // namespace fleetmcp::oauth
