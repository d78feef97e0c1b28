#include "metrics/exposition.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "json/writer.hpp"

namespace fleetmcp::metrics {
namespace {

// The format's escapes (backslash, newline, and in label values the quote);
// a scraper must read valid UTF-8, and a terminal showing a scrape no control
// character: an invalid sequence or another control character becomes U+FFFD.
void append_escaped(std::string& out, std::string_view text, bool quotes) {
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      const std::size_t n = json::utf8_length(text, i);
      if (n)
        out.append(text.data() + i, n);
      else
        out += "\xEF\xBF\xBD";
      i += n ? n : 1;
      continue;
    }
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quotes)
      out += "\\\"";
    else if (byte < 0x20 || byte == 0x7F)
      out += "\xEF\xBF\xBD";
    else
      out += c;
    ++i;
  }
}

void write_labels(std::string& out, std::initializer_list<Label> labels, const Label* extra = nullptr) {
  if (labels.size() == 0 && !extra) return;
  out += '{';
  bool first = true;
  auto one = [&](const Label& l) {
    if (!first) out += ',';
    first = false;
    out += l.first;
    out += "=\"";
    append_escaped(out, l.second, true);
    out += '"';
  };
  for (const auto& l : labels) one(l);
  if (extra) one(*extra);
  out += '}';
}

}  // namespace

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", value);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  // The shortest text that reads back as the same double.
  for (int precision = 1; precision < 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, value);
    if (std::strtod(shorter, nullptr) == value) return shorter;
  }
  return buf;
}

void write_family(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  append_escaped(out, help, false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void write_sample(std::string& out, std::string_view name, std::initializer_list<Label> labels, double value) {
  out += name;
  write_labels(out, labels);
  out += ' ';
  out += format_value(value);
  out += '\n';
}

void write_sample(std::string& out, std::string_view name, std::initializer_list<Label> labels, std::uint64_t value) {
  out += name;
  write_labels(out, labels);
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

void Histogram::observe(double seconds) {
  const auto bucket = std::lower_bound(kSecondsBuckets.begin(), kSecondsBuckets.end(), seconds);
  if (bucket != kSecondsBuckets.end()) ++counts[bucket - kSecondsBuckets.begin()];
  ++count;
  sum += seconds;
}

void Histogram::write(std::string& out, std::string_view name, std::initializer_list<Label> labels) const {
  const std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= counts.size(); ++i) {
    std::string le;
    if (i < counts.size()) {
      cumulative += counts[i];
      le = format_value(kSecondsBuckets[i]);
    } else {
      cumulative = count;  // +Inf: every observation, however large
      le = "+Inf";
    }
    const Label extra{"le", le};
    out += bucket;
    write_labels(out, labels, &extra);
    out += ' ';
    out += std::to_string(cumulative);
    out += '\n';
  }
  write_sample(out, std::string(name) + "_sum", labels, sum);
  write_sample(out, std::string(name) + "_count", labels, count);
}

}  // namespace fleetmcp::metrics
