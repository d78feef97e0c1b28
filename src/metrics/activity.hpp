// What the status page shows beyond the counters: the calls running now, the
// query shapes (fingerprints) of the last hour with their time and count, and
// the latest guard rejections. Bounded: at most kMaxShapes shapes (the least
// recently seen one makes room for a new one), kRecentRejections rejections,
// and the SQL text of each kept to kSqlChars.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "audit/audit.hpp"

namespace fleetmcp::metrics {

using Clock = std::chrono::steady_clock;

class Activity {
 public:
  static constexpr std::size_t kMaxShapes = 10000;
  static constexpr std::size_t kRecentRejections = 20;
  static constexpr std::size_t kSqlChars = 300;
  // The window: twelve five-minute slots.
  static constexpr int kSlots = 12;
  static constexpr std::chrono::minutes kSlotLength{5};

  // One call in flight. The tool names its statement once the guard passed it;
  // PostgreSQL's rows are counted as they arrive.
  class Running {
   public:
    Running(std::string analyst, std::string tool) : analyst_(std::move(analyst)), tool_(std::move(tool)) {}
    std::atomic<long long> rows{0};
    void set_statement(const std::string& fingerprint, const std::string& sql);

   private:
    friend class Activity;
    const std::string analyst_, tool_;
    const Clock::time_point started_ = Clock::now();
    std::mutex mu_;
    std::string fingerprint_, sql_;
  };

  // Registered until the returned pointer's last copy is gone.
  std::shared_ptr<Running> start(std::string analyst, std::string tool);
  // A finished call, as audited: its shape and, when refused, the rejection.
  void finished(const audit::Record& r, Clock::time_point now = Clock::now());

  struct RunningView {
    std::string analyst, tool, fingerprint, sql;
    double seconds = 0;
    long long rows = 0;
  };
  struct ShapeView {
    std::string fingerprint, sql, tool, last_analyst;
    std::uint64_t calls = 0, errors = 0;
    double seconds = 0, slowest = 0;
  };
  struct Rejection {
    std::chrono::system_clock::time_point at;
    std::string analyst, rule, sql;
  };
  std::vector<RunningView> running() const;  // longest-running first
  // The `n` heaviest shapes of the window, by total time or by count.
  std::vector<ShapeView> heaviest(bool by_time, std::size_t n, Clock::time_point now = Clock::now()) const;
  std::vector<Rejection> recent_rejections() const;  // newest first
  std::size_t shapes() const;
  // Shapes pushed out of a full table although seen within the window.
  std::uint64_t evicted_in_window() const;

 private:
  struct Slot {
    std::int64_t period = std::numeric_limits<std::int64_t>::min();  // which five minutes since the clock's epoch
    std::uint32_t calls = 0, errors = 0;
    double seconds = 0, slowest = 0;
  };
  struct Shape {
    std::string sql, tool, last_analyst;
    std::array<Slot, kSlots> slots{};
    std::int64_t last_period = 0;
    std::list<std::string>::iterator lru;  // into lru_
  };
  static std::int64_t period_of(Clock::time_point t);
  void remove_running(const Running* r);

  mutable std::mutex mu_;
  std::map<const Running*, std::weak_ptr<Running>> running_;
  std::unordered_map<std::string, Shape> shapes_;
  std::list<std::string> lru_;         // fingerprints, least recently seen first
  std::vector<Rejection> rejections_;  // a ring of kRecentRejections
  std::size_t next_rejection_ = 0;
  std::uint64_t evicted_in_window_ = 0;
};

}  // namespace fleetmcp::metrics
