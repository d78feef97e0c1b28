#include "mcp/pages.hpp"

#include <openssl/evp.h>

#include <charconv>

namespace fleetmcp::mcp {

std::string encode_cursor(std::string_view list, std::size_t offset) {
  const std::string plain = std::string(list) + ":" + std::to_string(offset);
  std::string out(4 * ((plain.size() + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(plain.data()),
                  static_cast<int>(plain.size()));
  return out;
}

std::optional<std::size_t> decode_cursor(std::string_view list, const nlohmann::json& cursor) {
  if (cursor.is_null()) return 0;
  if (!cursor.is_string()) return std::nullopt;
  const std::string& text = cursor.get_ref<const std::string&>();
  if (text.empty() || text.size() > 256 || text.size() % 4) return std::nullopt;
  std::string plain(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(plain.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  plain.resize(static_cast<std::size_t>(n));
  while (!plain.empty() && plain.back() == '\0') plain.pop_back();  // the block's padding
  const std::string prefix = std::string(list) + ":";
  if (plain.rfind(prefix, 0) != 0) return std::nullopt;
  std::size_t offset = 0;
  const char* begin = plain.data() + prefix.size();
  const char* end = plain.data() + plain.size();
  auto [ptr, ec] = std::from_chars(begin, end, offset);
  if (ec != std::errc() || ptr != end || begin == end) return std::nullopt;
  return offset;
}

}  // namespace fleetmcp::mcp
