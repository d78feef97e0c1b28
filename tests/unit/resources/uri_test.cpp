#include "resources/uri.hpp"

#include <gtest/gtest.h>

namespace fleetmcp::resources {
namespace {

TEST(ResourceUri, SegmentsRoundTripWhateverTheName) {
  for (const char* name :
       {"positions", "odd\"name", "with space", "slash/inside", "percent%41", "ünïcode", "~a-b.c_d"}) {
    const std::string encoded = encode_segment(name);
    EXPECT_EQ(encoded.find_first_of("/\" %"), encoded.find('%')) << encoded;  // only escapes carry '%'
    EXPECT_EQ(decode_segment(encoded), std::optional<std::string>(name)) << encoded;
  }
  EXPECT_EQ(encode_segment("a b/c"), "a%20b%2Fc");
  EXPECT_EQ(encode_segment("~a-b.c_d"), "~a-b.c_d");  // unreserved characters stay
}

TEST(ResourceUri, MalformedSegmentsAreRefused) {
  for (const char* bad : {"", "%", "%4", "%zz", "a%2", "a/b", "%4g"}) EXPECT_FALSE(decode_segment(bad)) << bad;
  EXPECT_EQ(decode_segment("%2f"), "/");       // lower-case hex too
  EXPECT_FALSE(decode_segment("users%00xx"));  // libpq would cut the name at the zero byte
  EXPECT_FALSE(parse_object_uri("fleetmcp://table/tickets/users%00xx"));
}

TEST(ResourceUri, ObjectUrisNameOneTableOrFunction) {
  EXPECT_EQ(object_uri("table", "tracksolid", "odd\"name"), "fleetmcp://table/tracksolid/odd%22name");
  const auto parsed = parse_object_uri("fleetmcp://function/reporting/fleet%20km");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->kind, "function");
  EXPECT_EQ(parsed->schema, "reporting");
  EXPECT_EQ(parsed->name, "fleet km");
  for (const char* other : {kOverviewUri, "fleetmcp://view/a/b", "fleetmcp://table/a", "fleetmcp://table/a/b/c",
                            "fleetmcp://table//b", "http://table/a/b", "fleetmcp://table/a/%zz"})
    EXPECT_FALSE(parse_object_uri(other)) << other;
}

}  // namespace
}  // namespace fleetmcp::resources
