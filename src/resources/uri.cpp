#include "resources/uri.hpp"

#include <cctype>

namespace fleetmcp::resources {

std::string encode_segment(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::optional<std::string> decode_segment(std::string_view s) {
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '/') return std::nullopt;
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
      return std::nullopt;
    out += static_cast<char>(digit(s[i + 1]) * 16 + digit(s[i + 2]));
    i += 2;
  }
  // A zero byte would cut the name where libpq passes it to PostgreSQL.
  if (out.empty() || out.find('\0') != std::string::npos) return std::nullopt;
  return out;
}

std::string object_uri(std::string_view kind, std::string_view schema, std::string_view name) {
  return "fleetmcp://" + std::string(kind) + "/" + encode_segment(schema) + "/" + encode_segment(name);
}

std::optional<ObjectName> parse_object_uri(std::string_view uri) {
  constexpr std::string_view scheme = "fleetmcp://";
  if (uri.substr(0, scheme.size()) != scheme) return std::nullopt;
  uri.remove_prefix(scheme.size());
  const auto first = uri.find('/');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = uri.find('/', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  const std::string_view kind = uri.substr(0, first);
  if (kind != "table" && kind != "function") return std::nullopt;
  auto schema = decode_segment(uri.substr(first + 1, second - first - 1));
  auto name = decode_segment(uri.substr(second + 1));
  if (!schema || !name) return std::nullopt;
  return ObjectName{std::string(kind), std::move(*schema), std::move(*name)};
}

}  // namespace fleetmcp::resources
