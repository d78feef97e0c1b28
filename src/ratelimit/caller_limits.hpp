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
 public:
  using Clock = TokenBucket::Clock;

  // Held while the call runs; its end frees the caller's concurrency slot.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), caller_(std::move(other.caller_)) {}
    Permit& operator=(Permit&&) = delete;
    ~Permit() {
      if (owner_) owner_->release(caller_);
    }

   private:
    friend class CallerLimits;
    Permit(CallerLimits* owner, std::string caller) : owner_(owner), caller_(std::move(caller)) {}
    CallerLimits* owner_ = nullptr;
    std::string caller_;
  };

  // Held while a client connection of the caller is open (HTTP keep-alive,
  // SSE, WebSocket): one caller cannot fill MCP_MAX_CONNECTIONS alone.
  class Connection {
   public:
    Connection(Connection&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)), caller_(std::move(other.caller_)) {}
    Connection& operator=(Connection&&) = delete;
    ~Connection() {
      if (owner_) owner_->disconnect(caller_);
    }

   private:
    friend class CallerLimits;
    Connection(CallerLimits* owner, std::string caller) : owner_(owner), caller_(std::move(caller)) {}
    CallerLimits* owner_ = nullptr;
    std::string caller_;
  };

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
  struct Entry {
    std::unique_ptr<TokenBucket> bucket;
    int per_minute = 0;
    int running = 0;
    int connections = 0;
  };
  void release(const std::string& caller);
  void disconnect(const std::string& caller);
  // Drops entries with nothing running and a full bucket, when the map is large.
  void sweep(Clock::time_point now);

  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace fleetmcp::ratelimit
