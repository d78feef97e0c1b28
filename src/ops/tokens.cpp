#include "ops/tokens.hpp"

#include <openssl/rand.h>

#include <sstream>
#include <stdexcept>

namespace fleetmcp::ops {

std::string new_token() {
  unsigned char bytes[24];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no randomness available");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0xF]);
  }
  return out;
}

std::string tokens_with(const std::string& current, const std::string& name, const std::string& token) {
  std::string out;
  std::size_t start = 0;
  while (start <= current.size()) {
    std::size_t comma = current.find(',', start);
    if (comma == std::string::npos) comma = current.size();
    std::string item = current.substr(start, comma - start);
    const auto first = item.find_first_not_of(' ');
    if (first != std::string::npos) {
      item = item.substr(first);
      if (item.rfind(name + ":", 0) != 0) out += (out.empty() ? "" : ",") + item;  // replaced below
    }
    start = comma + 1;
  }
  return out + (out.empty() ? "" : ",") + name + ":" + token;
}

std::string with_setting(const std::string& file_text, const std::string& key, const std::string& value) {
  std::istringstream in(file_text);
  std::string out, line;
  bool set = false;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t");
    const bool is_key = first != std::string::npos && line.compare(first, key.size(), key) == 0 &&
                        line.find_first_not_of(" \t", first + key.size()) == line.find('=', first);
    if (!is_key) {
      out += line + "\n";
    } else if (!set) {
      out += key + "=" + value + "\n";
      set = true;
    }
  }
  if (!set) out += key + "=" + value + "\n";
  return out;
}

}  // namespace fleetmcp::ops
