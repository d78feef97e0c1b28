#include "ws/protocol.hpp"

#include <climits>
#include <set>

#include "json/bounded.hpp"
#include "json/writer.hpp"

namespace fleetmcp::ws {
namespace {

using core::ErrorKind;
using core::make_error;

core::Error bad(std::string message) { return make_error(ErrorKind::BadRequest, std::move(message)); }

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// A JSON scalar as the text PostgreSQL parses for the column's type. Strings
// go as they are; libpq passes parameters as C strings, so a NUL would
// silently cut the value: refused instead.
core::Result<std::optional<std::string>> parameter_text(const json& v, const std::string& what) {
  if (v.is_null()) return std::optional<std::string>();
  if (v.is_boolean()) return std::optional<std::string>(v.get<bool>() ? "true" : "false");
  if (v.is_number()) return std::optional<std::string>(dump(v));
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.find('\0') != std::string::npos) return bad("Invalid " + what + ": contains a NUL character");
    return std::optional<std::string>(s);
  }
  return bad("Invalid " + what +
             ": only strings, numbers, booleans and null are supported "
             "(equality filters only)");
}

core::Status only_known_params(const Request& r, const std::set<std::string>& known, const char* hint) {
  for (const auto& [key, value] : r.params.items())
    if (!known.count(key)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return bad("Unknown parameter '" + key + "' for " + r.action_name + " (accepted: " + list + ")" + hint);
    }
  return core::ok_status();
}

void append_id(std::string& out, const std::optional<json>& id) {
  out += '{';
  if (id) {
    out += "\"id\":";
    out += dump(*id);
    out += ',';
  }
}

// Collects the top-level "id" for peek_id; stops at the first sign of trouble.
struct IdPeek {
  int depth = 0;
  bool at_id = false;
  std::optional<json> id;

  bool value(json v) {
    if (!at_id) return true;
    if (v.is_string() || v.is_number()) id = std::move(v);
    return false;  // found (or not an id at all): nothing more to read
  }
  bool null() { return value(nullptr); }
  bool boolean(bool v) { return value(v); }
  bool number_integer(json::number_integer_t v) { return value(v); }
  bool number_unsigned(json::number_unsigned_t v) { return value(v); }
  bool number_float(json::number_float_t v, const json::string_t&) { return value(v); }
  bool string(json::string_t& v) { return value(v); }
  bool binary(json::binary_t&) { return value(nullptr); }
  bool start_object(std::size_t) { return open(); }
  bool start_array(std::size_t) { return open(); }
  bool end_object() { return --depth, true; }
  bool end_array() { return --depth, true; }
  bool key(json::string_t& k) {
    at_id = depth == 1 && k == "id";
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  bool open() {
    if (at_id) return false;  // an object or array is no id
    ++depth;
    return true;
  }
};

}  // namespace

std::optional<json> peek_id(std::string_view text) {
  IdPeek peek;
  json::sax_parse(text.begin(), text.end(), &peek, json::input_format_t::json, /*strict=*/false);
  return peek.id;
}

core::Status parse_request(std::string_view text, Request& out) {
  auto parsed = fleetmcp::json::parse_bounded(text);
  if (!parsed.ok) {
    out.id = peek_id(text);
    return bad("Invalid request: " + parsed.error);
  }
  json& message = parsed.value;
  if (!message.is_object())
    return bad("Invalid request: expected a JSON object {\"id\", \"action\", \"model\", \"params\"}");
  if (auto it = message.find("id"); it != message.end() && !it->is_null()) {
    if (!it->is_string() && !it->is_number()) return bad("Invalid field: id must be a string or a number");
    out.id = *it;
  }
  auto action = message.find("action");
  if (action == message.end() || action->is_null()) return bad("Missing required field: action");
  if (!action->is_string()) return bad("Invalid field: action must be a string");
  out.action_name = action->get<std::string>();
  if (out.action_name == "list") {
    out.action = Action::List;
  } else if (out.action_name == "get") {
    out.action = Action::Get;
  } else if (out.action_name == "query") {
    out.action = Action::Query;
  } else {
    // create, update, delete or anything else: only the three reads exist.
    return make_error(ErrorKind::Denied, "Write operations not allowed in read-only mode: " + out.action_name);
  }
  auto model = message.find("model");
  if (model == message.end() || model->is_null()) return bad("Missing required field: model");
  if (!model->is_string()) return bad("Invalid field: model must be a string");
  out.model = model->get<std::string>();
  if (auto params = message.find("params"); params != message.end() && !params->is_null()) {
    if (!params->is_object()) return bad("Invalid field: params must be an object");
    out.params = std::move(*params);
  }
  return core::ok_status();
}

core::Result<Selection> read_selection(const Request& r) {
  const bool query = r.action == Action::Query;
  if (auto known = query ? only_known_params(r, {"limit", "offset", "filters", "order_by", "order"}, "")
                         : only_known_params(r, {"limit", "offset", "filters"}, "; query also takes order_by");
      !known)
    return known.error();
  Selection s;
  if (auto it = r.params.find("limit"); it != r.params.end() && !it->is_null()) {
    auto n = fleetmcp::json::whole_number(*it);
    if (!n || *n < 1)
      return bad("Invalid parameter: limit must be a whole number from 1 to " + std::to_string(kMaxLimit));
    s.limit = std::min(*n, kMaxLimit);  // the seed's ceiling; the answer says which limit applied
  }
  if (auto it = r.params.find("offset"); it != r.params.end() && !it->is_null()) {
    auto n = fleetmcp::json::whole_number(*it);
    if (!n || *n < 0) return bad("Invalid parameter: offset must be a whole number, 0 or more");
    s.offset = *n;
  }
  if (auto it = r.params.find("filters"); it != r.params.end() && !it->is_null()) {
    if (!it->is_object()) return bad("Invalid parameter: filters must be an object of field: value equality filters");
    for (const auto& [column, value] : it->items()) {
      auto text = parameter_text(value, "filter value for '" + column + "'");
      if (!text) return text.error();
      s.filters.push_back({column, std::move(*text)});
    }
  }
  if (auto it = r.params.find("order_by"); it != r.params.end() && !it->is_null()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
      return bad("Invalid parameter: order_by must be a column name");
    s.order_by = it->get<std::string>();
  }
  if (auto it = r.params.find("order"); it != r.params.end() && !it->is_null()) {
    if (*it != "asc" && *it != "desc") return bad("Invalid parameter: order must be \"asc\" or \"desc\"");
    s.descending = *it == "desc";
  }
  return s;
}

core::Result<std::string> read_record_id(const Request& r) {
  if (auto known = only_known_params(r, {"id"}, ""); !known) return known.error();
  auto it = r.params.find("id");
  if (it == r.params.end() || it->is_null()) return bad("Missing required parameter: id");
  if (!it->is_string() && !it->is_number()) return bad("Invalid parameter: id must be a string or a number");
  auto text = parameter_text(*it, "parameter: id");
  if (!text) return text.error();
  return std::move(**text);
}

std::string error_frame(const std::optional<json>& id, std::string_view message) {
  std::string out;
  append_id(out, id);
  out += "\"status\":\"error\",\"error\":";
  fleetmcp::json::append_string(out, message);
  out += '}';
  return out;
}

std::string list_frame(const std::optional<json>& id, std::string_view rows, long long count, long long limit,
                       long long offset) {
  std::string out;
  out.reserve(rows.size() + 128);
  append_id(out, id);
  out += "\"status\":\"ok\",\"data\":";
  out += rows;
  out += ",\"count\":" + std::to_string(count) + ",\"limit\":" + std::to_string(limit) +
         ",\"offset\":" + std::to_string(offset) + "}";
  return out;
}

std::string get_frame(const std::optional<json>& id, std::string_view row) {
  std::string out;
  out.reserve(row.size() + 64);
  append_id(out, id);
  out += "\"status\":\"ok\",\"data\":";
  out += row;
  out += '}';
  return out;
}

}  // namespace fleetmcp::ws
