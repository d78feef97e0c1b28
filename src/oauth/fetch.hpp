// One HTTPS GET of a small JSON document (an issuer's metadata, its JWKS), as
// a coroutine on the caller's executor: never blocks an event loop. The
// certificate is checked against the system's CAs and the host name; http://
// is accepted only for loopback hosts (config refuses it elsewhere). Bounded:
// the whole exchange takes at most `timeout`, the body at most `max_bytes`,
// and redirects are not followed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "core/result.hpp"

namespace fleetmcp::oauth {

struct Url {
  bool tls = true;
  std::string host;  // without brackets
  std::string port;
  std::string target;  // path, at least "/"
};
core::Result<Url> parse_url(const std::string& url);

boost::asio::awaitable<core::Result<std::string>> fetch(std::string url, std::chrono::milliseconds timeout,
                                                        std::size_t max_bytes);

}  // namespace fleetmcp::oauth
