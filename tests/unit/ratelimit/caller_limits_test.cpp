#include "ratelimit/caller_limits.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace fleetmcp::ratelimit {
namespace {

using namespace std::chrono_literals;
using Permit = CallerLimits::Permit;
using Refusal = CallerLimits::Refusal;

const auto t0 = CallerLimits::Clock::time_point{} + 1h;

TEST(CallerLimits, ConcurrencyIsPerCallerAndFreedWhenTheCallEnds) {
  CallerLimits limits;
  std::optional<Permit> first, second;
  first.emplace(std::get<Permit>(limits.admit("alice", 100, 2, t0)));
  second.emplace(std::get<Permit>(limits.admit("alice", 100, 2, t0)));
  auto third = limits.admit("alice", 100, 2, t0);
  ASSERT_TRUE(std::holds_alternative<Refusal>(third));
  EXPECT_NE(std::get<Refusal>(third).reason.find("2 calls running"), std::string::npos);
  EXPECT_EQ(std::get<Refusal>(third).retry_after_s, 1);
  EXPECT_TRUE(std::holds_alternative<Permit>(limits.admit("bob", 100, 2, t0)));  // bob is not alice
  first.reset();
  EXPECT_TRUE(std::holds_alternative<Permit>(limits.admit("alice", 100, 2, t0)));
}

TEST(CallerLimits, CallsPerMinuteRefuseWithTheSecondsToWait) {
  CallerLimits limits;
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(std::holds_alternative<Permit>(limits.admit("alice", 6, 10, t0))) << i;
  auto over = limits.admit("alice", 6, 10, t0);
  ASSERT_TRUE(std::holds_alternative<Refusal>(over));
  EXPECT_EQ(std::get<Refusal>(over).retry_after_s, 10);  // 6 per minute: one every 10 s
  EXPECT_NE(std::get<Refusal>(over).reason.find("6 calls per minute"), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<Refusal>(limits.admit("alice", 6, 10, t0 + 9s)));
  EXPECT_TRUE(std::holds_alternative<Permit>(limits.admit("alice", 6, 10, t0 + 10s)));
  EXPECT_TRUE(std::holds_alternative<Permit>(limits.admit("bob", 6, 10, t0)));
}

TEST(CallerLimits, IdleCallersAreForgottenWhenTheMapIsLarge) {
  CallerLimits limits;
  for (int i = 0; i < 10000; ++i) (void)limits.admit("caller" + std::to_string(i), 60, 1, t0);
  EXPECT_EQ(limits.callers(), 10000u);
  // An hour on every bucket is full again: the next admission sweeps them.
  std::optional<Permit> held;
  held.emplace(std::get<Permit>(limits.admit("busy", 60, 1, t0 + 1h)));
  (void)limits.admit("another", 60, 1, t0 + 1h);
  EXPECT_LE(limits.callers(), 2u);
}

}  // namespace
}  // namespace fleetmcp::ratelimit
