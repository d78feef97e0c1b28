// Typed reads of a request's params that never throw: a member of the wrong
// type is recorded once, by its path ("params._meta.progressToken"), and the
// handler answers -32602 with it instead of letting a JSON exception escape.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace fleetmcp::mcp {

// The first wrong member a set of readers found; empty while all were right.
struct ParamError {
  std::string message;
  explicit operator bool() const { return !message.empty(); }
};

class Params {
 public:
  Params(const nlohmann::json& object, std::string path, ParamError& error)
      : object_(object.is_object() ? &object : nullptr), path_(std::move(path)), error_(error) {}

  // Absent or null: nullopt / nullptr. Present with another type: also that,
  // and the error names the member and the type it must have.
  std::optional<std::string> string(std::string_view key) {
    const auto* v = member(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) return wrong(key, "a string");
    return v->get<std::string>();
  }
  const nlohmann::json* object(std::string_view key) {
    const auto* v = member(key);
    if (v && !v->is_object()) return wrong(key, "an object"), nullptr;
    return v;
  }
  // A JSON-RPC id or progress token: a string or an integer.
  const nlohmann::json* id_like(std::string_view key) {
    const auto* v = member(key);
    if (v && !v->is_string() && !v->is_number_integer()) return wrong(key, "a string or an integer"), nullptr;
    return v;
  }
  // Any type (the caller checks it).
  const nlohmann::json* any(std::string_view key) { return member(key); }
  // A reader of an object member; an absent member reads as an empty object.
  Params nested(std::string_view key) {
    const auto* v = object(key);
    return Params(v ? *v : empty(), path_ + "." + std::string(key), error_);
  }
  std::optional<std::string> required_string(std::string_view key) {
    auto v = string(key);
    if (!v && !error_ && !member(key)) missing(key, "a string");
    return v;
  }

 private:
  static const nlohmann::json& empty() {
    static const nlohmann::json e = nlohmann::json::object();
    return e;
  }
  const nlohmann::json* member(std::string_view key) const {
    if (!object_) return nullptr;
    const auto it = object_->find(key);
    return it == object_->end() || it->is_null() ? nullptr : &*it;
  }
  std::nullopt_t wrong(std::string_view key, const char* type) {
    if (!error_) error_.message = path_ + "." + std::string(key) + " must be " + type;
    return std::nullopt;
  }
  void missing(std::string_view key, const char* type) {
    if (!error_) error_.message = path_ + "." + std::string(key) + " is required (" + type + ")";
  }

  const nlohmann::json* object_;
  std::string path_;
  ParamError& error_;
};

}  // namespace fleetmcp::mcp
