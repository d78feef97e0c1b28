#include "ratelimit/token_bucket.hpp"

#include <gtest/gtest.h>

namespace fleetmcp::ratelimit {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucket, BurstOfCapacityThenRefillsAtCapacityPerPeriod) {
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket bucket(60, 60s, t0);
  for (int i = 0; i < 60; ++i) EXPECT_TRUE(bucket.try_take(t0)) << i;
  EXPECT_FALSE(bucket.try_take(t0));
  EXPECT_FALSE(bucket.try_take(t0 + 999ms));  // 60 per minute: one a second
  EXPECT_TRUE(bucket.try_take(t0 + 1s));
  EXPECT_FALSE(bucket.try_take(t0 + 1s));
  // A long pause refills to capacity, never beyond.
  for (int i = 0; i < 60; ++i) EXPECT_TRUE(bucket.try_take(t0 + 1h)) << i;
  EXPECT_FALSE(bucket.try_take(t0 + 1h));
}

TEST(TokenBucket, ClockGoingBackwardsGrantsNothing) {
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket bucket(1, 60s, t0);
  EXPECT_TRUE(bucket.try_take(t0));
  EXPECT_FALSE(bucket.try_take(t0 - 30min));
  EXPECT_FALSE(bucket.try_take(t0 + 59s));
  EXPECT_TRUE(bucket.try_take(t0 + 60s));
}

}  // namespace
}  // namespace fleetmcp::ratelimit
