#pragma once
// gzip for the JSON replies of /mcp, for clients that ask for it (RFC 9110
// §8.4 and §12.5.3). Every Node or Python MCP client sends Accept-Encoding:
// gzip; rows compress to about a sixth (structuredContent repeats each column
// name on every row).
#include <cstddef>
#include <string>
#include <string_view>

#include "http/request.hpp"

namespace fleetmcp::http {

// Whether an Accept-Encoding value admits gzip: "gzip" (or "x-gzip") with a
// non-zero q, or else "*" with a non-zero q. Malformed members count as absent.
bool accepts_gzip(std::string_view accept_encoding);

// The gzip member of `data` (libdeflate, level 1: about 400 MB/s here, a sixth
// of the size on rows; higher levels cost two to six times the CPU for 5-25%
// less). Empty if compression did not make it smaller.
std::string gzip(std::string_view data);

// Compresses res's body in place when the request accepts gzip and the body
// has at least min_bytes (0: never); always says the reply varies by it.
void compress_for(const Request& req, Response& res, std::size_t min_bytes);

}  // namespace fleetmcp::http
