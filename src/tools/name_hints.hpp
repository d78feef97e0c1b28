// What an analyst most likely meant when PostgreSQL says a relation, column
// or function does not exist: the nearest readable names, read from the
// catalog as the role sees it (one extra round trip, on the error path only).
#pragma once

#include <boost/asio/awaitable.hpp>

#include "core/result.hpp"
#include "tools/tool.hpp"

namespace fleetmcp::tools {

// Adds to e.detail, for 42P01 (relation), 42703 (column, when PostgreSQL gave
// no hint of its own) and 42883 (function: its signatures, or near names).
boost::asio::awaitable<void> add_name_hints(CallContext& ctx, core::Error& e);

}  // namespace fleetmcp::tools
