#include "tools/arguments.hpp"

#include <vector>

#include "core/nearest.hpp"
#include "json/bounded.hpp"

namespace fleetmcp::tools {
namespace {

using nlohmann::json;

bool has_type(const json& value, const std::string& type) {
  if (type == "string") return value.is_string();
  if (type == "integer") return fleetmcp::json::whole_number(value).has_value();  // as integer_arg reads it
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "array") return value.is_array();
  if (type == "object") return value.is_object();
  if (type == "null") return value.is_null();
  return true;
}

std::string a_type(const std::string& type) {
  return (type == "integer" || type == "array" || type == "object" ? "an " : "a ") + type;
}

std::string shown(const json& value) {
  std::string s = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// A caller's name as echoed in a message: at most 64 bytes, cut at a
// character boundary (an unknown name can be as long as the body).
std::string echoed(const std::string& name) {
  if (name.size() <= 64) return name;
  std::size_t cut = 61;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
  return name.substr(0, cut) + "...";
}

core::Status bad(std::string message) { return core::make_error(core::ErrorKind::BadRequest, std::move(message)); }

}  // namespace

core::Status check_arguments(const std::string& tool, const json& schema, const json& args) {
  const json& properties = schema.contains("properties") ? schema["properties"] : json::object();
  std::vector<std::string> names;
  for (const auto& [name, _] : properties.items()) names.push_back(name);
  const std::string takes =
      names.empty() ? tool + " takes no arguments" : tool + " takes " + core::quoted_list(names, " and ");

  for (const auto& [name, value] : args.items()) {
    if (!properties.contains(name)) {
      const auto near = core::nearest(name, names, 1);
      return bad("unknown argument '" + echoed(name) + "'" +
                 (near.empty() ? "" : " (did you mean '" + near.front() + "'?)") + "; " + takes);
    }
    if (value.is_null()) continue;  // an explicit null means "the default"
    const json& rule = properties[name];
    const std::string type = rule.value("type", "");
    if (!type.empty() && !has_type(value, type))
      return bad("argument '" + name + "' must be " + a_type(type) + ", not " + shown(value));
    if (value.is_number()) {
      const double v = value.get<double>();
      if (rule.contains("minimum") && v < rule["minimum"].get<double>())
        return bad("argument '" + name + "' must be at least " + rule["minimum"].dump() + ", not " + shown(value));
      if (rule.contains("maximum") && v > rule["maximum"].get<double>())
        return bad("argument '" + name + "' must be at most " + rule["maximum"].dump() + ", not " + shown(value));
    }
    if (value.is_string()) {
      // Lengths in bytes: the limits guard sizes, not typography.
      const std::size_t length = value.get_ref<const std::string&>().size();
      if (rule.contains("minLength") && length < rule["minLength"].get<std::size_t>())
        return bad("argument '" + name + "' must not be empty");
      if (rule.contains("maxLength") && length > rule["maxLength"].get<std::size_t>())
        return bad("argument '" + name + "' is longer than " + rule["maxLength"].dump() + " bytes");
    }
    if (rule.contains("enum")) {
      bool listed = false;
      std::vector<std::string> allowed;
      for (const auto& e : rule["enum"]) {
        listed = listed || e == value;
        allowed.push_back(e.is_string() ? e.get<std::string>() : e.dump());
      }
      if (!listed)
        return bad("argument '" + name + "' must be one of " + core::quoted_list(allowed) + ", not " + shown(value));
    }
  }
  if (schema.contains("required"))
    for (const auto& r : schema["required"]) {
      const std::string name = r.get<std::string>();
      if (!args.contains(name) || args[name].is_null())
        return bad("missing required argument '" + name + "' (" + properties[name].value("type", "any") + "); " +
                   takes);
    }
  return core::ok_status();
}

}  // namespace fleetmcp::tools
