// A request's cancellation: the transport fires it (client disconnected,
// notifications/cancelled), whatever is running registers how to stop. Safe
// to fire from any thread; the stop action runs at most once, and never after
// clear() has returned.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

namespace fleetmcp::core {

class CancelSignal {
 public:
  void cancel() {
    std::function<void()> action;
    {
      std::lock_guard lock(mu_);
      if (cancelled_) return;
      cancelled_ = true;
      action = std::move(action_);
    }
    if (action) action();
  }

  // Runs `action` now if already cancelled, else on cancel().
  void on_cancel(std::function<void()> action) {
    {
      std::lock_guard lock(mu_);
      if (!cancelled_) {
        action_ = std::move(action);
        return;
      }
    }
    action();
  }

  void clear() {
    std::lock_guard lock(mu_);
    action_ = nullptr;
  }

  bool cancelled() {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

 private:
  std::mutex mu_;
  bool cancelled_ = false;
  std::function<void()> action_;
};

using CancelPtr = std::shared_ptr<CancelSignal>;

}  // namespace fleetmcp::core
