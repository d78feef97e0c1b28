// The record API's messages (seed 004): what a request may say, and the exact
// shapes of the answers. Pure functions, no I/O: the session reads frames, the
// record API runs them, this decides what they mean.
//
//   request  {"id": ..., "action": "list|get|query", "model": "...", "params": {...}}
//   list     {"id", "status": "ok", "data": [rows], "count", "limit", "offset"}
//   get      {"id", "status": "ok", "data": {row}}
//   error    {"id", "status": "error", "error": "..."}   (no id when none could be read)
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace fleetmcp::ws {

using nlohmann::json;

// limit: default and ceiling from the seed.
inline constexpr long long kDefaultLimit = 50;
inline constexpr long long kMaxLimit = 100;

enum class Action { List, Get, Query };

struct Request {
  std::optional<json> id;   // a string or a number, echoed in the answer
  std::string action_name;  // as sent, for the audit line
  Action action = Action::List;
  std::string model;
  json params = json::object();
};

// Reads one message, filling `out` as far as it goes (the id first, so an error
// can still name the request). Errors are BadRequest, or Denied for an action
// other than list/get/query (writes do not exist here).
core::Status parse_request(std::string_view text, Request& out);

// The request id of a message that could not be parsed whole (cut at the size
// limit, or invalid further on): the top-level "id" if it came before the damage.
std::optional<json> peek_id(std::string_view text);

// One equality filter; no value means IS NULL.
struct Filter {
  std::string column;
  std::optional<std::string> value;
};

// What list and query select. limit is already clamped to kMaxLimit.
struct Selection {
  long long limit = kDefaultLimit;
  long long offset = 0;
  std::vector<Filter> filters;
  std::string order_by;  // query only; empty: the primary key
  bool descending = false;
};

// The params of list or query (query also takes order_by and order).
core::Result<Selection> read_selection(const Request& request);

// The params of get: the primary key value, as text bound to a parameter.
core::Result<std::string> read_record_id(const Request& request);

// Answers, built as text in the seed's field order.
std::string error_frame(const std::optional<json>& id, std::string_view message);
std::string list_frame(const std::optional<json>& id, std::string_view rows, long long count, long long limit,
                       long long offset);
std::string get_frame(const std::optional<json>& id, std::string_view row);

}  // namespace fleetmcp::ws
