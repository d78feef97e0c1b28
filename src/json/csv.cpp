#include "json/csv.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#include "json/writer.hpp"

namespace fleetmcp::json {

namespace {

// Per byte: whether a JSON string needs it escaped (control bytes, the quote,
// the backslash, and every non-ASCII byte, whose UTF-8 must be checked), and
// whether a CSV field holding it needs quotes.
enum : std::uint8_t { kEscape = 1, kQuote = 2 };
constexpr auto kByteFlags = [] {
  std::array<std::uint8_t, 256> flags{};
  for (int c = 0; c < 0x20; ++c) flags[c] = kEscape;
  for (int c = 0x80; c < 0x100; ++c) flags[c] = kEscape;
  flags['"'] = kEscape | kQuote;
  flags['\\'] = kEscape;
  flags['\n'] = flags['\r'] = kEscape | kQuote;
  flags[','] = kQuote;
  return flags;
}();

bool plain(std::string_view value) {
  std::uint8_t flags = 0;
  for (const char c : value) flags |= kByteFlags[static_cast<unsigned char>(c)];
  return flags == 0;
}

// memcpy for the short keys and values of a row, inline: a call to libc's
// memcpy per value was a sixth of the encoder's time. Up to 32 bytes, two
// fixed-size copies that overlap in the middle cover any length.
inline void copy_short(char* to, const char* from, std::size_t n) {
  const auto two = [&](auto word) {
    std::memcpy(&word, from, sizeof word);
    decltype(word) last;
    std::memcpy(&last, from + n - sizeof word, sizeof word);
    std::memcpy(to, &word, sizeof word);
    std::memcpy(to + n - sizeof word, &last, sizeof last);
  };
  struct Block {
    std::uint64_t a, b;
  };
  if (n > 32)
    std::memcpy(to, from, n);
  else if (n >= 16)
    two(Block{});
  else if (n >= 8)
    two(std::uint64_t{});
  else if (n >= 4)
    two(std::uint32_t{});
  else
    for (std::size_t i = 0; i < n; ++i) to[i] = from[i];
}

// The fast path of append_object_and_csv_line: false (nothing written) when a
// value needs escaping, quoting or a check.
bool append_plain_row(std::string& object, std::string& csv, const std::vector<Value>& values, const Columns& columns) {
  for (std::size_t c = 0; c < columns.kinds.size(); ++c)
    if (columns.kinds[c] == ValueKind::Json && !columns.hidden[c]) return false;  // its nesting is checked
  std::size_t object_bytes = 2, csv_bytes = 2;                                    // {} and the escaped line end
  bool first = true;
  for (std::size_t c = 0; c < columns.keys.size(); ++c) {
    if (columns.hidden[c]) continue;
    if (!first) ++object_bytes, ++csv_bytes;
    first = false;
    object_bytes += columns.keys[c].size();
    if (!values[c].data) {
      object_bytes += 4;  // null; the CSV field stays empty
      continue;
    }
    const std::string_view v(values[c].data, static_cast<std::size_t>(values[c].length));
    switch (columns.kinds[c]) {
      case ValueKind::Boolean:
        object_bytes += boolean_word(v).size();
        csv_bytes += boolean_word(v).size();
        continue;
      case ValueKind::Json: return false;  // not reached
      case ValueKind::Float:
        if (!v.empty() && (v[0] == 'N' || v[0] == 'I' || (v[0] == '-' && v.size() > 1 && v[1] == 'I')))
          return false;  // NaN and ±Infinity go as JSON strings
        break;
      case ValueKind::Text: object_bytes += 2; break;
      case ValueKind::Integer: break;
    }
    if (v.empty() || !plain(v)) return false;  // "" is quoted in CSV
    object_bytes += v.size();
    csv_bytes += v.size();
  }

  const std::size_t object_at = object.size(), csv_at = csv.size();
  object.resize(object_at + object_bytes);
  csv.resize(csv_at + csv_bytes);
  char* o = object.data() + object_at;
  char* t = csv.data() + csv_at;
  const auto put = [](char*& at, std::string_view s) {
    copy_short(at, s.data(), s.size());
    at += s.size();
  };
  *o++ = '{';
  first = true;
  for (std::size_t c = 0; c < columns.keys.size(); ++c) {
    if (columns.hidden[c]) continue;
    if (!first) *o++ = ',', *t++ = ',';
    first = false;
    put(o, columns.keys[c]);
    if (!values[c].data) {
      put(o, "null");
      continue;
    }
    const std::string_view v(values[c].data, static_cast<std::size_t>(values[c].length));
    if (columns.kinds[c] == ValueKind::Boolean) {
      put(o, boolean_word(v));
      put(t, boolean_word(v));
    } else if (columns.kinds[c] == ValueKind::Text) {
      *o++ = '"';
      put(o, v);
      *o++ = '"';
      put(t, v);
    } else {
      put(o, v);
      put(t, v);
    }
  }
  *o++ = '}';
  put(t, "\\n");
  return true;
}

bool needs_quotes(std::string_view value) {
  if (value.empty()) return true;  // "" is the empty string; nothing is NULL
  for (const char c : value)
    if (c == ',' || c == '"' || c == '\n' || c == '\r') return true;
  return false;
}

}  // namespace

void append_csv_field(std::string& out, std::string_view value) {
  if (!needs_quotes(value)) {
    append_escaped(out, value);
    return;
  }
  out.append("\\\"");
  for (std::size_t quote; (quote = value.find('"')) != std::string_view::npos;) {
    append_escaped(out, value.substr(0, quote));
    out.append("\\\"\\\"");
    value.remove_prefix(quote + 1);
  }
  append_escaped(out, value);
  out.append("\\\"");
}

void append_csv_header(std::string& out, const Columns& columns) {
  bool first = true;
  for (std::size_t c = 0; c < columns.names.size(); ++c) {
    if (columns.hidden[c]) continue;
    if (!first) out.push_back(',');
    first = false;
    append_csv_field(out, columns.names[c]);
  }
  out.append("\\n");
}

void append_csv_row(std::string& out, const std::vector<Value>& values, const Columns& columns) {
  bool first = true;
  for (std::size_t c = 0; c < columns.names.size(); ++c) {
    if (columns.hidden[c]) continue;
    if (!first) out.push_back(',');
    first = false;
    if (!values[c].data) continue;
    const std::string_view v(values[c].data, static_cast<std::size_t>(values[c].length));
    if (columns.kinds[c] == ValueKind::Boolean)
      out.append(boolean_word(v));
    else
      append_csv_field(out, v);
  }
  out.append("\\n");
}

void append_object_and_csv_line(std::string& object, std::string& csv, const std::vector<Value>& values,
                                const Columns& columns) {
  if (append_plain_row(object, csv, values, columns)) return;
  append_row(object, values, columns);
  append_csv_row(csv, values, columns);
}

}  // namespace fleetmcp::json
