#include "ratelimit/caller_limits.hpp"

#include <chrono>

namespace fleetmcp::ratelimit {
namespace {
// Entries are forgotten (idle, bucket full) once there are this many.
constexpr std::size_t kSweepAbove = 10000;
}  // namespace

std::variant<CallerLimits::Permit, CallerLimits::Refusal> CallerLimits::admit(const std::string& caller,
                                                                              int calls_per_minute,
                                                                              int concurrent_calls,
                                                                              Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (entries_.size() >= kSweepAbove) sweep(now);
  Entry& e = entries_[caller];
  // A policy change (or the first call) starts a bucket of the new size.
  if (!e.bucket || e.per_minute != calls_per_minute) {
    e.bucket = std::make_unique<TokenBucket>(calls_per_minute, std::chrono::minutes(1), now);
    e.per_minute = calls_per_minute;
  }
  if (e.running >= concurrent_calls)
    return Refusal{1, "you already have " + std::to_string(e.running) +
                          " calls running, your limit of calls at once (" + std::to_string(concurrent_calls) +
                          "); retry when one has finished"};
  if (!e.bucket->try_take(now)) {
    const auto wait = std::chrono::ceil<std::chrono::seconds>(e.bucket->wait(now)).count();
    const int seconds = static_cast<int>(std::max<long long>(1, wait));
    return Refusal{seconds, "over your limit of " + std::to_string(calls_per_minute) + " calls per minute; retry in " +
                                std::to_string(seconds) + " s"};
  }
  ++e.running;
  return Permit(this, caller, &Entry::running);
}

void CallerLimits::give_back(const std::string& caller, int Entry::*count) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(caller); it != entries_.end() && it->second.*count > 0) --(it->second.*count);
}

std::optional<CallerLimits::Connection> CallerLimits::connect(const std::string& caller, int max) {
  std::lock_guard lock(mu_);
  if (entries_.size() >= kSweepAbove) sweep(Clock::now());
  Entry& e = entries_[caller];
  if (e.connections >= max) return std::nullopt;
  ++e.connections;
  return Connection(this, caller, &Entry::connections);
}

void CallerLimits::sweep(Clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    it = (e.running == 0 && e.connections == 0 && (!e.bucket || e.bucket->full(now))) ? entries_.erase(it)
                                                                                      : std::next(it);
  }
}

std::size_t CallerLimits::callers() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace fleetmcp::ratelimit
