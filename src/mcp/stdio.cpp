#include "mcp/stdio.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <mutex>
#include <string>

#include "errors/errors.hpp"

namespace fleetmcp::mcp {

using namespace fleetmcp::errors;  // the JSON-RPC codes and texts

namespace asio = boost::asio;

void serve_stdio(asio::io_context& io, Dispatcher& dispatcher, std::FILE* in, std::FILE* out,
                 std::size_t max_message_bytes) {
  std::mutex mu;
  std::condition_variable idle;
  int in_flight = 0;

  auto write_line = [&](const std::string& body) {
    std::lock_guard lock(mu);
    std::fwrite(body.data(), 1, body.size(), out);
    std::fputc('\n', out);
    std::fflush(out);
  };

  std::string line;
  bool too_long = false;
  for (;;) {
    const int c = std::fgetc(in);
    if (c != EOF && c != '\n') {
      if (line.size() < max_message_bytes)
        line.push_back(static_cast<char>(c));
      else
        too_long = true;
      continue;
    }
    // A last message without its newline is still a message.
    if (c == EOF && line.empty() && !too_long) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (too_long) {
      write_line(
          rpc_error(nullptr, kInvalidRequest, "message larger than " + std::to_string(max_message_bytes) + " bytes"));
    } else if (line.find_first_not_of(" \t") != std::string::npos) {
      {
        std::lock_guard lock(mu);
        ++in_flight;
      }
      asio::co_spawn(
          asio::make_strand(io),
          [&, message = std::move(line)]() mutable -> asio::awaitable<void> {
            // stdio carries no HTTP headers; the local process owner is the caller.
            // Progress notifications go out as lines ahead of the response.
            Notifier notify = [&write_line](std::string notification) -> asio::awaitable<bool> {
              write_line(notification);
              co_return true;
            };
            Reply reply = co_await dispatcher.handle(std::move(message), Headers{}, "stdio", nullptr, notify);
            if (!reply.body.empty()) write_line(reply.body);
            std::lock_guard lock(mu);
            if (--in_flight == 0) idle.notify_all();
          },
          asio::detached);
    }
    if (c == EOF) break;
    line.clear();
    too_long = false;
  }
  std::unique_lock lock(mu);
  idle.wait(lock, [&] { return in_flight == 0; });
}

}  // namespace fleetmcp::mcp
