#include "metrics/activity.hpp"

#include <algorithm>

namespace fleetmcp::metrics {
namespace {

// The first `max` bytes of `sql`, cut at a character boundary.
std::string clip(const std::string& sql, std::size_t max) {
  if (sql.size() <= max) return sql;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(sql[cut]) & 0xC0) == 0x80) --cut;
  return sql.substr(0, cut) + "…";
}

}  // namespace

void Activity::Running::set_statement(const std::string& fingerprint, const std::string& sql) {
  std::lock_guard lock(mu_);
  fingerprint_ = fingerprint;
  sql_ = clip(sql, kSqlChars);
}

std::shared_ptr<Activity::Running> Activity::start(std::string analyst, std::string tool) {
  // The deleter unregisters: the call's frame drops its pointer when it ends,
  // however it ends.
  auto* raw = new Running(std::move(analyst), std::move(tool));
  std::shared_ptr<Running> running(raw, [this](Running* r) {
    remove_running(r);
    delete r;
  });
  std::lock_guard lock(mu_);
  running_.emplace(raw, running);
  return running;
}

void Activity::remove_running(const Running* r) {
  std::lock_guard lock(mu_);
  running_.erase(r);
}

std::int64_t Activity::period_of(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::minutes>(t.time_since_epoch()).count() / kSlotLength.count();
}

void Activity::finished(const audit::Record& r, Clock::time_point now) {
  const std::int64_t period = period_of(now);
  std::lock_guard lock(mu_);
  if (r.outcome == "denied") {
    // Listed only with its SQL: a refusal without any (a record API write)
    // would push statements off the list without showing anything.
    if (r.sql.empty()) return;
    Rejection rejection{std::chrono::system_clock::now(), r.caller, r.rule.empty() ? "policy" : r.rule,
                        clip(r.sql, kSqlChars)};
    if (rejections_.size() < kRecentRejections)
      rejections_.push_back(std::move(rejection));
    else
      rejections_[next_rejection_] = std::move(rejection);
    next_rejection_ = (next_rejection_ + 1) % kRecentRejections;
    return;
  }
  if (r.fingerprint.empty()) return;
  auto it = shapes_.find(r.fingerprint);
  if (it == shapes_.end()) {
    // Full: the least recently seen shape makes room, so a new shape (a new
    // heavy query) always shows; the page says when this pushed out shapes
    // seen within the window.
    if (shapes_.size() >= kMaxShapes) {
      if (shapes_.at(lru_.front()).last_period > period - kSlots) ++evicted_in_window_;
      shapes_.erase(lru_.front());
      lru_.pop_front();
    }
    it = shapes_.emplace(r.fingerprint, Shape{}).first;
    it->second.lru = lru_.insert(lru_.end(), r.fingerprint);
  }
  Shape& shape = it->second;
  lru_.splice(lru_.end(), lru_, shape.lru);
  // The latest text of the shape (comments and constants differ between
  // calls of one shape): what it ran as last, not what someone seeded first.
  shape.sql = clip(r.sql, kSqlChars);
  shape.tool = r.tool;
  shape.last_analyst = r.caller;
  shape.last_period = period;
  // A steady clock's epoch is the boot: a period before it is negative.
  Slot& slot = shape.slots[static_cast<std::size_t>((period % kSlots + kSlots) % kSlots)];
  if (slot.period != period) slot = Slot{period};
  ++slot.calls;
  if (r.outcome != "ok") ++slot.errors;
  slot.seconds += r.seconds;
  slot.slowest = std::max(slot.slowest, r.seconds);
}

std::vector<Activity::RunningView> Activity::running() const {
  std::vector<std::shared_ptr<Running>> alive;
  {
    std::lock_guard lock(mu_);
    for (const auto& [_, weak] : running_)
      if (auto r = weak.lock()) alive.push_back(std::move(r));
  }
  // Outside mu_: the last copy may go here, and its deleter takes mu_.
  std::vector<RunningView> out;
  const auto now = Clock::now();
  for (const auto& r : alive) {
    RunningView v{r->analyst_,
                  r->tool_,
                  "",
                  "",
                  std::chrono::duration<double>(now - r->started_).count(),
                  r->rows.load(std::memory_order_relaxed)};
    {
      std::lock_guard lock(r->mu_);
      v.fingerprint = r->fingerprint_;
      v.sql = r->sql_;
    }
    out.push_back(std::move(v));
  }
  alive.clear();
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.seconds > b.seconds; });
  return out;
}

std::vector<Activity::ShapeView> Activity::heaviest(bool by_time, std::size_t n, Clock::time_point now) const {
  const std::int64_t period = period_of(now);
  // Totals first, without copying a string; only the top n are copied out.
  struct Total {
    const std::string* fingerprint;
    const Shape* shape;
    std::uint64_t calls = 0, errors = 0;
    double seconds = 0, slowest = 0;
  };
  std::vector<ShapeView> out;
  std::lock_guard lock(mu_);
  std::vector<Total> totals;
  totals.reserve(shapes_.size());
  for (const auto& [fingerprint, shape] : shapes_) {
    if (shape.last_period <= period - kSlots) continue;
    Total t{&fingerprint, &shape};
    for (const Slot& s : shape.slots) {
      if (s.period <= period - kSlots || s.period > period) continue;
      t.calls += s.calls;
      t.errors += s.errors;
      t.seconds += s.seconds;
      t.slowest = std::max(t.slowest, s.slowest);
    }
    if (t.calls) totals.push_back(t);
  }
  const auto top = totals.begin() + static_cast<std::ptrdiff_t>(std::min(n, totals.size()));
  std::partial_sort(totals.begin(), top, totals.end(), [by_time](const Total& a, const Total& b) {
    return by_time ? a.seconds > b.seconds : a.calls > b.calls;
  });
  for (auto it = totals.begin(); it != top; ++it)
    out.push_back({*it->fingerprint, it->shape->sql, it->shape->tool, it->shape->last_analyst, it->calls, it->errors,
                   it->seconds, it->slowest});
  return out;
}

std::vector<Activity::Rejection> Activity::recent_rejections() const {
  std::lock_guard lock(mu_);
  std::vector<Rejection> out;
  for (std::size_t i = 0; i < rejections_.size(); ++i)
    out.push_back(rejections_[(next_rejection_ + rejections_.size() - 1 - i) % rejections_.size()]);
  return out;
}

std::size_t Activity::shapes() const {
  std::lock_guard lock(mu_);
  return shapes_.size();
}

std::uint64_t Activity::evicted_in_window() const {
  std::lock_guard lock(mu_);
  return evicted_in_window_;
}

}  // namespace fleetmcp::metrics
