// CancelSignal's promise to its users: a stop action never runs, or is still
// running, once clear() has returned (the pg layer returns the connection to
// the pool right after clear(), and a late action would stop another call).
#include "core/cancel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace fleetmcp::core {
namespace {

TEST(CancelSignal, ClearWaitsForARunningAction) {
  int late = 0;
  for (int i = 0; i < 200; ++i) {
    CancelSignal signal;
    std::atomic<bool> started{false}, cleared{false};
    signal.on_cancel([&] {
      started = true;
      // A slow action: it would see clear() return if clear() did not wait.
      for (int spin = 0; spin < 20000; ++spin)
        if (cleared.load()) {
          ++late;
          break;
        }
    });
    std::thread canceller([&] { signal.cancel(); });
    while (!started) std::this_thread::yield();
    signal.clear();
    cleared = true;
    canceller.join();
  }
  EXPECT_EQ(late, 0);
}

// Cancel and clear racing freely: whichever wins, nothing runs after clear().
TEST(CancelSignal, NoActionRunsAfterClearReturns) {
  int late = 0;
  for (int i = 0; i < 2000; ++i) {
    CancelSignal signal;
    std::atomic<bool> go{false}, cleared{false};
    signal.on_cancel([&] {
      if (cleared.load()) ++late;
    });
    std::thread canceller([&] {
      while (!go) std::this_thread::yield();
      signal.cancel();
    });
    go = true;
    signal.clear();
    cleared = true;
    canceller.join();
  }
  EXPECT_EQ(late, 0);
}

TEST(CancelSignal, AnActionMayClearItsOwnSignal) {
  auto signal = std::make_shared<CancelSignal>();
  bool ran = false;
  signal->on_cancel([&] {
    signal->clear();  // must not wait for itself
    ran = true;
  });
  signal->cancel();
  EXPECT_TRUE(ran);
  EXPECT_TRUE(signal->cancelled());
}

TEST(CancelSignal, RegisteringAfterCancelRunsAtOnceAndOnlyOnce) {
  CancelSignal signal;
  signal.cancel();
  int runs = 0;
  signal.on_cancel([&] { ++runs; });
  signal.cancel();
  signal.clear();
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace fleetmcp::core
