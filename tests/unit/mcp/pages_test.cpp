#include "mcp/pages.hpp"

#include <gtest/gtest.h>

namespace fleetmcp::mcp {
namespace {

TEST(Cursors, RoundTripWithinTheirOwnListOnly) {
  for (std::size_t offset : {0ul, 1ul, 100ul, 123456789ul}) {
    const std::string cursor = encode_cursor("tools", offset);
    EXPECT_EQ(decode_cursor("tools", cursor), offset) << cursor;
    EXPECT_FALSE(decode_cursor("prompts", cursor)) << cursor;  // another list's cursor is refused
  }
  EXPECT_EQ(decode_cursor("tools", nullptr), 0u);  // no cursor: the first page
}

TEST(Cursors, AnythingElseIsRefused) {
  for (const nlohmann::json& bad :
       {nlohmann::json(5), nlohmann::json(""), nlohmann::json("abc"), nlohmann::json("!!!!"),
        nlohmann::json(std::string(260, 'A')), nlohmann::json(encode_cursor("tools", 1).substr(4))})
    EXPECT_FALSE(decode_cursor("tools", bad)) << bad;
  EXPECT_FALSE(decode_cursor("tools", encode_cursor("tools:x", 1)));
}

}  // namespace
}  // namespace fleetmcp::mcp
