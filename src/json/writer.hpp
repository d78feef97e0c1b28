// JSON text written straight into a reply buffer: string escaping and PostgreSQL
// values typed by column OID. This is the hot path of every query result, so it
// appends to one std::string and allocates nothing per value.
#pragma once

#include <string>
#include <string_view>

namespace fleetmcp::json {

// Appends s as a quoted JSON string. Invalid UTF-8 bytes become U+FFFD so the
// reply always parses (PostgreSQL sends UTF-8, but bytea-as-text may not be).
void append_string(std::string& out, std::string_view s);

// Appends s escaped as the content of a JSON string, without the quotes.
void append_escaped(std::string& out, std::string_view s);
// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0 when
// invalid (overlong, surrogate, past U+10FFFF, cut short).
std::size_t utf8_length(std::string_view s, std::size_t i);

// Appends the JSON string literal of s (quotes included) — shorthand for callers.
std::string quoted(std::string_view s);

// How a column's text value becomes JSON, decided once per column from its type OID.
enum class ValueKind { Integer, Float, Boolean, Json, Text };
ValueKind kind_for_oid(unsigned oid);

// A boolean in PostgreSQL's text form ("t" or "f") as JSON and the CSV text spell it.
inline std::string_view boolean_word(std::string_view v) { return v == "t" ? "true" : "false"; }

// Appends one PostgreSQL text-format value. NULL is passed as value == nullptr.
void append_value(std::string& out, ValueKind kind, const char* value, int length);

}  // namespace fleetmcp::json
