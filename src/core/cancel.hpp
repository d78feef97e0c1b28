// A request's cancellation: the transport fires it (client disconnected,
// notifications/cancelled), whatever is running registers how to stop. Safe
// to fire from any thread; the stop action runs at most once, and never after
// clear() has returned: clear() waits for an action already running on
// another thread, because its owner frees what the action touches (a pooled
// connection goes back to the pool, for another caller) right after clear().
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace fleetmcp::core {

class CancelSignal {
 public:
  // `cause`: who ended the request, for the audit line and the metrics.
  static constexpr const char* kClientGone = "client_gone";
  static constexpr const char* kClientRequest = "client_request";

  void cancel(const char* cause = kClientGone) {
    std::function<void()> action;
    {
      std::lock_guard lock(mu_);
      if (cancelled_) return;
      cancelled_ = true;
      cause_ = cause;
      if (!action_) return;
      action = std::move(action_);
      action_ = nullptr;
      running_ = std::this_thread::get_id();
    }
    struct Done {
      CancelSignal& s;
      ~Done() {
        // Notified under the lock: a waiting clear() cannot return (and its
        // owner free this signal) before we stop touching it.
        std::lock_guard lock(s.mu_);
        s.running_ = std::thread::id();
        s.done_.notify_all();
      }
    } done{*this};
    action();
  }

  // Runs `action` now if already cancelled, else on cancel(). An action must
  // not wait for the thread that calls clear() (clear() waits for it).
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

  // Forgets the action; if cancel() is running it on another thread, waits
  // until it has returned. From inside the action itself, does not wait.
  void clear() {
    std::unique_lock lock(mu_);
    action_ = nullptr;
    done_.wait(lock, [&] { return running_ == std::thread::id() || running_ == std::this_thread::get_id(); });
  }

  bool cancelled() {
    std::lock_guard lock(mu_);
    return cancelled_;
  }
  const char* cause() {
    std::lock_guard lock(mu_);
    return cause_;
  }

 private:
  std::mutex mu_;
  std::condition_variable done_;
  bool cancelled_ = false;
  const char* cause_ = "";
  std::function<void()> action_;
  std::thread::id running_;  // the thread running the action, if any
};

using CancelPtr = std::shared_ptr<CancelSignal>;

}  // namespace fleetmcp::core
