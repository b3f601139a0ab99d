// The stop contract every callback-running object keeps (watch handles,
// subscriptions, src/base/stop_contract.hpp), checked one way for all.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "testutil/temp_dir.hpp"

namespace liveconf::testing {

// `arm(callback)` registers `callback`; `fire()` (run on a thread of its
// own) makes it run; `cancel()` cancels it. Expects that a cancel() made
// while the callback runs on the other thread returns only after it finished.
inline void expect_cancel_waits_for_running_callback(
    const std::function<void(std::function<void()>)>& arm, const std::function<void()>& fire,
    const std::function<void()>& cancel) {
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  std::atomic<bool> finished{false};
  arm([&] {
    entered = true;
    EXPECT_TRUE(wait_until([&] { return release.load(); }));
    finished = true;
  });
  std::thread firer(fire);
  ASSERT_TRUE(wait_until([&] { return entered.load(); })) << "the callback never ran";
  std::atomic<bool> saw_finished{false};
  std::thread canceller([&] {
    cancel();
    saw_finished = finished.load();
  });
  release = true;
  firer.join();
  canceller.join();
  EXPECT_TRUE(saw_finished.load()) << "cancel() returned while the callback was still running";
}

}  // namespace liveconf::testing
