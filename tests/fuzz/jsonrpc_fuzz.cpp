// libFuzzer target over the whole JSON-RPC core: bytes in, one reply out,
// through the envelope, the era and header checks, the method table and every
// handler, with a database that answers without one (tests/support). Beyond
// "no crash, no hang, no sanitizer report" it checks that every reply is one
// JSON-RPC object.
//
// The first byte picks the mode. Below 0x80 the rest is a raw body. From 0x80
// on, the input mutates a valid message: byte 1 picks one of kMessages, byte 2
// one of its members (every nested member counts), byte 3 the JSON value that
// replaces it, and the rest is that value's text or number.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "mcp/dispatcher.hpp"
#include "support/dispatch.hpp"
#include "support/memory_runner.hpp"
#include "support/messages.hpp"

namespace {

using nlohmann::json;
namespace asio = boost::asio;
namespace mcp = fleetmcp::mcp;
namespace config = fleetmcp::config;
namespace audit = fleetmcp::audit;
namespace testing = fleetmcp::testing;

struct Core {
  asio::io_context io;
  config::Config config;
  testing::MemoryRunner db;
  std::FILE* devnull = std::fopen("/dev/null", "w");
  audit::Sink audit{devnull, 100};
  mcp::Dispatcher dispatcher{config, db, audit, mcp::ServerInfo{"fleetmcp", "fuzz"}};

  mcp::Reply call(std::string body, mcp::Headers headers, bool with_notifier) {
    mcp::Notifier notify;
    if (with_notifier) notify = [](std::string) -> asio::awaitable<bool> { co_return true; };
    return testing::dispatch(io, dispatcher, std::move(body), std::move(headers), "fuzz", std::move(notify));
  }
};

json value_of(std::uint8_t kind, const std::string& rest) {
  long long n = 0;
  for (unsigned char c : rest.substr(0, 8)) n = (n << 8) | c;
  switch (kind % 12) {
    case 0: return nullptr;
    case 1: return kind & 0x10;
    case 2: return n;
    case 3: return static_cast<double>(n) * 1e290;
    case 4: return rest;
    case 5: return json::array({rest, n});
    case 6: return json::object({{rest, n}});
    case 7: return json::parse(rest, nullptr, false, true);  // may be discarded
    case 8: return json::array();
    case 9: return json::object();
    case 10: return -n;
    default: return std::to_string(n);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Core* core = new Core;
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  mcp::Headers headers;
  headers.http = mode & 1;
  std::string body;
  if (mode < 0x80 || size < 4) {
    body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (mode & 2) headers.protocol_version = mode & 4 ? mcp::kModernVersion : mcp::kLegacyVersions[0];
  } else {
    json message = json::parse(testing::kMessages[data[1] % std::size(testing::kMessages)]);
    std::vector<json::json_pointer> members;
    testing::member_pointers(message, json::json_pointer(), members);
    const auto& at = members[data[2] % members.size()];
    const std::string rest(reinterpret_cast<const char*>(data) + 4, size - 4);
    json value = value_of(data[3], rest);
    if (value.is_discarded()) value = rest;
    if (at.empty())
      message = std::move(value);
    else
      message[at] = std::move(value);
    body = message.dump(-1, ' ', false, json::error_handler_t::replace);
    // Modern messages over HTTP carry the headers that mirror them, unless
    // the mode byte says to leave them out.
    const bool modern = message.is_object() && message.contains("params") && message["params"].is_object() &&
                        message["params"].contains("_meta");
    if (headers.http && !(mode & 2) && modern) {
      headers.protocol_version = mcp::kModernVersion;
      if (message["method"].is_string()) headers.method = message["method"].get<std::string>();
      if (message["params"].contains("name") && message["params"]["name"].is_string())
        headers.name = message["params"]["name"].get<std::string>();
    }
  }
  const mcp::Reply reply = core->call(body, headers, mode & 8);
  if (reply.body.empty()) return 0;  // accepted notification or response
  const json out = json::parse(reply.body, nullptr, false);
  const bool one_object =
      out.is_object() && out.value("jsonrpc", "") == "2.0" && (out.contains("result") != out.contains("error"));
  if (!one_object) {
    std::fprintf(stderr, "jsonrpc_fuzz: not one JSON-RPC object:\n%s\n", reply.body.c_str());
    __builtin_trap();
  }
  return 0;
}
