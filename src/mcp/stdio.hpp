// MCP over stdio: newline-delimited JSON-RPC on stdin/stdout, the same
// dispatcher as HTTP. Requests run concurrently; replies are written whole,
// one per line. Logs never touch stdout. Returns at EOF once replies are out.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdio>

#include "mcp/dispatcher.hpp"

namespace fleetmcp::mcp {

// Reads `in` on a thread of its own until EOF; dispatches on `io`.
void serve_stdio(boost::asio::io_context& io, Dispatcher& dispatcher, std::FILE* in, std::FILE* out,
                 std::size_t max_message_bytes);

}  // namespace fleetmcp::mcp
