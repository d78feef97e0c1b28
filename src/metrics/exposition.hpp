// The Prometheus text exposition format, version 0.0.4: what /metrics sends.
// Pure functions over a string, so the escaping and the histogram layout are
// unit-tested without a server.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace fleetmcp::metrics {

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

using Label = std::pair<std::string_view, std::string_view>;

// "# HELP name help" (backslash and newline escaped) and "# TYPE name type".
void write_family(std::string& out, std::string_view name, std::string_view help, std::string_view type);
// name{label="value",...} value, label values escaped (backslash, quote, newline).
void write_sample(std::string& out, std::string_view name, std::initializer_list<Label> labels, double value);
void write_sample(std::string& out, std::string_view name, std::initializer_list<Label> labels, std::uint64_t value);
// A number as the format writes it: integers without an exponent, +Inf, -Inf, NaN.
std::string format_value(double value);

// Latency buckets, in seconds: a 1 ms point query to a 2-minute statement.
inline constexpr std::array<double, 15> kSecondsBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                           0.25,   0.5,   1,      2.5,   5,    15,    60};

// Counts per bucket (not cumulative; written cumulative), their sum and count.
// Not thread-safe: its owner locks.
struct Histogram {
  std::array<std::uint64_t, kSecondsBuckets.size()> counts{};
  std::uint64_t count = 0;
  double sum = 0;
  void observe(double seconds);
  // name_bucket{...,le="…"} for each bound and +Inf, then name_sum and name_count.
  void write(std::string& out, std::string_view name, std::initializer_list<Label> labels) const;
};

}  // namespace fleetmcp::metrics
