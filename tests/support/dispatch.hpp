// One message through a dispatcher to its reply, on the caller's io_context:
// what the dispatcher's unit tests and the JSON-RPC fuzzer each do per input.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <string>

#include "mcp/dispatcher.hpp"

namespace fleetmcp::testing {

inline mcp::Reply dispatch(boost::asio::io_context& io, mcp::Dispatcher& dispatcher, std::string body,
                           mcp::Headers headers = {}, std::string caller = "tester", mcp::Notifier notify = nullptr) {
  auto reply = boost::asio::co_spawn(
      io, dispatcher.handle(std::move(body), std::move(headers), std::move(caller), nullptr, std::move(notify)),
      boost::asio::use_future);
  io.restart();
  io.run();
  return reply.get();
}

}  // namespace fleetmcp::testing
