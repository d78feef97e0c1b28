// A token bucket: `capacity` requests at once, refilled at capacity per `period`.
// Kept as the time the bucket would next be full (GCRA), so the arithmetic is
// exact integer time, not fractions of tokens. Not thread-safe: each owner (one
// WebSocket connection) keeps its own on its strand. Time comes from the
// caller so tests need no clock.
#pragma once

#include <chrono>

namespace fleetmcp::ratelimit {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(int capacity, Clock::duration period, Clock::time_point now);

  // Takes one token if there is one; false means the request is over the limit.
  bool try_take(Clock::time_point now);

  // How long until try_take would succeed (zero: now).
  Clock::duration wait(Clock::time_point now) const;
  // Whether every token is back (the bucket can be forgotten).
  bool full(Clock::time_point now) const { return drained_ <= now; }

  int capacity() const { return capacity_; }

 private:
  int capacity_;
  Clock::duration period_;
  Clock::duration interval_;   // period / capacity: what one token costs
  Clock::time_point drained_;  // when every token taken so far is refilled
};

}  // namespace fleetmcp::ratelimit
