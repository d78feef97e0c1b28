#include "http/compress.hpp"

#include <libdeflate.h>

#include <boost/beast/core/string.hpp>
#include <optional>

namespace fleetmcp::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A qvalue (RFC 9110 §12.4.2): "0" or "1" with up to three decimals. Anything
// else is malformed. Returns whether it is above zero.
std::optional<bool> positive_qvalue(std::string_view v) {
  if (v.empty() || v.size() > 5 || (v[0] != '0' && v[0] != '1')) return std::nullopt;
  if (v.size() > 1 && v[1] != '.') return std::nullopt;
  bool positive = v[0] == '1';
  for (std::size_t i = 2; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9' || (v[0] == '1' && v[i] != '0')) return std::nullopt;
    positive = positive || v[i] != '0';
  }
  return positive;
}

struct Compressor {
  libdeflate_compressor* c = libdeflate_alloc_compressor(1);
  ~Compressor() { libdeflate_free_compressor(c); }
};

}  // namespace

bool accepts_gzip(std::string_view header) {
  std::optional<bool> gzip, any;
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view member = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    const auto semi = member.find(';');
    const std::string_view coding = trim(member.substr(0, semi));
    std::optional<bool> weight = true;
    if (semi != std::string_view::npos) {
      const std::string_view param = trim(member.substr(semi + 1));
      if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=')
        weight = std::nullopt;
      else
        weight = positive_qvalue(param.substr(2));
    }
    if (!weight) continue;
    if (boost::beast::iequals(coding, "gzip") || boost::beast::iequals(coding, "x-gzip"))
      gzip = *weight;
    else if (coding == "*")
      any = *weight;
  }
  return gzip ? *gzip : any.value_or(false);
}

std::string gzip(std::string_view data) {
  // One compressor per thread (each event loop compresses its own replies).
  thread_local Compressor compressor;
  if (!compressor.c) return {};
  std::string out(libdeflate_gzip_compress_bound(compressor.c, data.size()), '\0');
  const std::size_t n = libdeflate_gzip_compress(compressor.c, data.data(), data.size(), out.data(), out.size());
  if (n == 0 || n >= data.size()) return {};
  out.resize(n);
  return out;
}

void compress_for(const Request& req, Response& res, std::size_t min_bytes) {
  res.set(bhttp::field::vary, "Accept-Encoding");
  if (min_bytes == 0 || res.body().size() < min_bytes) return;
  // Repeated Accept-Encoding headers are one list (RFC 9110 §5.3).
  std::string accept;
  const auto [first, last] = req.equal_range(bhttp::field::accept_encoding);
  for (auto it = first; it != last; ++it) (accept += ',') += it->value();
  if (!accepts_gzip(accept)) return;
  std::string packed = gzip(res.body());
  if (packed.empty()) return;
  res.body() = std::move(packed);
  res.set(bhttp::field::content_encoding, "gzip");
  res.prepare_payload();
}

}  // namespace fleetmcp::http
