// libFuzzer target over the SQL guard. Beyond "no crash, no leak, no UB" it
// checks the guard's central promise: the text it returns (what will run)
// validates again, to the same text and the same kind of statement. A
// statement the parser refuses also goes through the dialect hints, which
// read the same untrusted text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "sql/dialect.hpp"
#include "sql/guard.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fleetmcp::sql::Policy policy{
      true, {"reporting", "tracksolid", "tickets", "fuel"}, {"password", "password_hash", "token", "api_key"}};
  const std::string_view sql(reinterpret_cast<const char*>(data), size);
  auto verdict = fleetmcp::sql::validate(sql, policy);
  if (!verdict && verdict.error().rule == "parse_error") (void)fleetmcp::sql::dialect_hints(sql);
  if (verdict) {
    // The statement text without the newline the guard appends must be a fixed point.
    const std::string& text = verdict->text;
    auto again = fleetmcp::sql::validate(std::string_view(text).substr(0, text.size() - 1), policy);
    if (!again || again->kind != verdict->kind || again->text != text) {
      std::fprintf(stderr, "guard_fuzz: the validated text does not validate again:\n%s\n", text.c_str());
      __builtin_trap();
    }
  }
  return 0;
}
