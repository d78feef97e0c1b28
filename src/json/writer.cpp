#include "json/writer.hpp"

#include "json/bounded.hpp"

#include <array>
#include <cstdint>

namespace fleetmcp::json {

std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n;
  std::uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0)
    n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0)
    n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Reject overlong forms, surrogates and values past U+10FFFF.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || (cp >= 0xD800 && cp <= 0xDFFF) ||
      cp > 0x10FFFF)
    return 0;
  return n;
}

namespace {

// The bytes that go into a JSON string as they are: printable ASCII but the
// quote and the backslash (UTF-8 sequences are checked one by one).
constexpr auto kPlain = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

}  // namespace

void append_string(std::string& out, std::string_view s) {
  out.push_back('"');
  append_escaped(out, s);
  out.push_back('"');
}

void append_escaped(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run that needs no escaping in one append.
    std::size_t run = i;
    while (run < s.size() && kPlain[static_cast<unsigned char>(s[run])]) ++run;
    out.append(s.data() + i, run - i);
    i = run;
    if (i >= s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      std::size_t n = utf8_length(s, i);
      if (n == 0) {
        out.append("\xEF\xBF\xBD");
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        out.append("\\u00");
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xF]);
    }
    ++i;
  }
}

std::string quoted(std::string_view s) {
  std::string out;
  append_string(out, s);
  return out;
}

ValueKind kind_for_oid(unsigned oid) {
  switch (oid) {
    case 20:  // int8
    case 21:  // int2
    case 23:  // int4
    case 26:  // oid
      return ValueKind::Integer;
    case 700:   // float4
    case 701:   // float8
    case 1700:  // numeric
      return ValueKind::Float;
    case 16:  // bool
      return ValueKind::Boolean;
    case 114:   // json
    case 3802:  // jsonb
      return ValueKind::Json;
    default: return ValueKind::Text;
  }
}

void append_value(std::string& out, ValueKind kind, const char* value, int length) {
  if (value == nullptr) {
    out.append("null");
    return;
  }
  std::string_view v(value, static_cast<std::size_t>(length));
  switch (kind) {
    case ValueKind::Integer: out.append(v); return;
    case ValueKind::Float:
      // JSON has no NaN or Infinity: those stay strings, as PostgreSQL spells them.
      if (v == "NaN" || v == "Infinity" || v == "-Infinity")
        append_string(out, v);
      else
        out.append(v);
      return;
    case ValueKind::Boolean: out.append(boolean_word(v)); return;
    case ValueKind::Json: {
      // PostgreSQL validated it; embedding avoids a parse and re-dump. A value
      // nested deeper than our own input limit would break clients' parsers
      // (most recurse): that one goes as text.
      if (nesting_within(v, Limits{}.max_depth))
        out.append(v);
      else
        append_string(out, v);
      return;
    }
    case ValueKind::Text: append_string(out, v); return;
  }
}

}  // namespace fleetmcp::json
