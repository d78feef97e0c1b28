#include "ratelimit/token_bucket.hpp"

#include <algorithm>

namespace fleetmcp::ratelimit {

TokenBucket::TokenBucket(int capacity, Clock::duration period, Clock::time_point now)
    : capacity_(capacity), period_(period), interval_(period / capacity), drained_(now) {}

bool TokenBucket::try_take(Clock::time_point now) {
  const auto from = std::max(drained_, now);
  // Taking one more must leave the debt within the bucket's size.
  if (from + interval_ - now > period_) return false;
  drained_ = from + interval_;
  return true;
}

TokenBucket::Clock::duration TokenBucket::wait(Clock::time_point now) const {
  return std::max(Clock::duration::zero(), drained_ + interval_ - period_ - now);
}

}  // namespace fleetmcp::ratelimit
