// Limits per caller, not per connection: one token bucket (calls per minute)
// and one count of running calls per analyst, shared by HTTP, stdio and the
// record API, so opening more connections buys no more. A call over either
// limit is refused at once with when to retry; it never waits in the pool's
// queue, where it would hold a place another analyst needs. Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>

#include "ratelimit/token_bucket.hpp"

namespace fleetmcp::ratelimit {

class CallerLimits {
  // One caller's bucket and counts.
  struct Entry {
    std::unique_ptr<TokenBucket> bucket;
    int per_minute = 0;
    int running = 0;
    int connections = 0;
  };

 public:
  using Clock = TokenBucket::Clock;

  // A slot of the caller's held until destroyed: a running call (Permit) or
  // an open client connection (Connection: HTTP keep-alive, SSE, WebSocket,
  // so one caller cannot fill MCP_MAX_CONNECTIONS alone).
  class Hold {
   public:
    Hold() = default;
    Hold(Hold&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)), caller_(std::move(other.caller_)), count_(other.count_) {}
    Hold& operator=(Hold&&) = delete;
    ~Hold() {
      if (owner_) owner_->give_back(caller_, count_);
    }

   private:
    friend class CallerLimits;
    Hold(CallerLimits* owner, std::string caller, int Entry::*count)
        : owner_(owner), caller_(std::move(caller)), count_(count) {}
    CallerLimits* owner_ = nullptr;
    std::string caller_;
    int Entry::*count_ = nullptr;  // which of the caller's counts it holds one of
  };
  using Permit = Hold;
  using Connection = Hold;

  struct Refusal {
    int retry_after_s = 1;  // whole seconds, at least 1
    std::string reason;     // for the analyst: which limit, and its value
  };

  // Takes a token and a concurrency slot for `caller`, or says why not.
  std::variant<Permit, Refusal> admit(const std::string& caller, int calls_per_minute, int concurrent_calls,
                                      Clock::time_point now = Clock::now());

  // A connection slot for `caller`, or nothing when they hold `max` already.
  std::optional<Connection> connect(const std::string& caller, int max);

  std::size_t callers() const;

 private:
  void give_back(const std::string& caller, int Entry::*count);
  // Drops entries with nothing running and a full bucket, when the map is large.
  void sweep(Clock::time_point now);

  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace fleetmcp::ratelimit
