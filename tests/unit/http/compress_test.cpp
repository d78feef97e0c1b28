#include "http/compress.hpp"

#include <gtest/gtest.h>
#include <libdeflate.h>

namespace fleetmcp::http {
namespace {

std::string gunzip(const std::string& packed, std::size_t size) {
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  std::string out(size, '\0');
  std::size_t n = 0;
  const auto r = libdeflate_gzip_decompress(d, packed.data(), packed.size(), out.data(), out.size(), &n);
  libdeflate_free_decompressor(d);
  EXPECT_EQ(r, LIBDEFLATE_SUCCESS);
  out.resize(n);
  return out;
}

TEST(AcceptsGzip, ReadsCodingsAndWeights) {
  for (const char* yes : {"gzip", "GZip", "x-gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "gzip ; q=0.001", "*",
                          "br, *;q=0.5", "gzip;q=1", "gzip;Q=1.000", " deflate ,gzip "})
    EXPECT_TRUE(accepts_gzip(yes)) << yes;
  for (const char* no : {"", "identity", "deflate, br", "gzip;q=0", "gzip;q=0.000", "*;q=0", "*, gzip;q=0",
                         "gzip;q=1.5", "gzip;q=2", "gzip;q=abc", "gzip;level=1", "gzips", "gzip;q=0.0001", ","})
    EXPECT_FALSE(accepts_gzip(no)) << no;
}

TEST(Gzip, RoundTripsAndRefusesWhatWouldGrow) {
  std::string rows;
  for (int i = 0; i < 1000; ++i)
    rows += "{\"id\":" + std::to_string(i) + ",\"imei\":\"86000000000000" + std::to_string(i % 10) + "\"},";
  const std::string packed = gzip(rows);
  ASSERT_FALSE(packed.empty());
  EXPECT_LT(packed.size(), rows.size() / 4);
  EXPECT_EQ(gunzip(packed, rows.size()), rows);
  EXPECT_TRUE(gzip("x").empty());  // the header alone is larger
}

TEST(CompressFor, OnlyWhenAskedAndLargeEnough) {
  const std::string body(4096, 'a');
  auto reply = [&](const char* accept, std::size_t min_bytes) {
    Request req{bhttp::verb::post, "/mcp", 11};
    if (accept) req.set(bhttp::field::accept_encoding, accept);
    Response res{bhttp::status::ok, 11};
    res.body() = body;
    res.prepare_payload();
    compress_for(req, res, min_bytes);
    EXPECT_EQ(res[bhttp::field::vary], "Accept-Encoding");
    return res;
  };
  auto packed = reply("gzip", 1024);
  EXPECT_EQ(packed[bhttp::field::content_encoding], "gzip");
  EXPECT_EQ(packed[bhttp::field::content_length], std::to_string(packed.body().size()));
  EXPECT_EQ(gunzip(packed.body(), body.size()), body);
  // Two headers are one list: the second one's refusal counts.
  Request twice{bhttp::verb::post, "/mcp", 11};
  twice.insert(bhttp::field::accept_encoding, "gzip");
  twice.insert(bhttp::field::accept_encoding, "gzip;q=0");
  Response res{bhttp::status::ok, 11};
  res.body() = body;
  compress_for(twice, res, 1024);
  EXPECT_EQ(res.count(bhttp::field::content_encoding), 0u);
  for (auto res : {reply(nullptr, 1024), reply("br", 1024), reply("gzip", 4097), reply("gzip", 0)}) {
    EXPECT_EQ(res.count(bhttp::field::content_encoding), 0u);
    EXPECT_EQ(res.body(), body);
  }
}

}  // namespace
}  // namespace fleetmcp::http
