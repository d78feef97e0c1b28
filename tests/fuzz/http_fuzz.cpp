// libFuzzer target over the HTTP front: bytes (after the first) as a client
// would send them on one connection (pipelined requests included), read by Beast's parser with
// the server's limits through Beast's test stream, then judged as the server
// judges them before any body is read (method, Host/Origin, token, media
// type), with the MCP headers extracted, the body's envelope and Accept-Encoding read.
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "http/compress.hpp"
#include "http/request.hpp"

namespace {

namespace http = fleetmcp::http;
namespace mcp = fleetmcp::mcp;
namespace config = fleetmcp::config;
namespace auth = fleetmcp::auth;
namespace beast = boost::beast;

struct Front {
  config::Config config = [] {
    config::Config c;
    c.auth_tokens = {{"fuzzer", "fuzz-token-123"}};
    c.operator_tokens = {{"ops", "ops-token-123"}};
    c.allowed_hosts = {"mcp.example.test"};
    c.max_body_bytes = 64 << 10;
    return c;
  }();
  auth::TokenStore tokens{config.auth_tokens};
  http::Admission admission{config, tokens};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Front* front = new Front;
  boost::asio::io_context io;
  beast::test::stream client(io), server(io);
  client.connect(server);
  if (size < 1) return 0;
  // The first byte splits the rest into reads of 1 to 64 bytes, as a network would.
  server.read_size(1 + data[0] % 64);
  boost::system::error_code ec;
  boost::asio::write(client, boost::asio::buffer(data + 1, size - 1), ec);
  client.close();
  beast::flat_buffer buffer;
  for (int requests = 0; requests < 16; ++requests) {
    http::Parser parser;
    http::limit(parser, front->config);
    beast::http::read_header(server, buffer, parser, ec);
    if (ec) break;
    (void)front->admission.operator_name(parser.get());  // /metrics, /status, /readyz's details
    auto admitted = front->admission.admit(parser.get());
    if (std::holds_alternative<http::Response>(admitted)) break;  // refused before the body, as served
    beast::http::read(server, buffer, parser, ec);
    if (ec) break;
    const http::Request& req = parser.get();
    if (req.body().size() > front->config.max_body_bytes) __builtin_trap();  // the limit held
    if (!http::is_mcp_path(http::path_of(req))) continue;
    const mcp::Headers headers = http::mcp_headers(req);
    (void)mcp::read_envelope(req.body(), headers, {});
    if (auto accept = req.find(beast::http::field::accept_encoding); accept != req.end())
      (void)http::accepts_gzip(accept->value());
    if (!req.keep_alive()) break;
  }
  return 0;
}
