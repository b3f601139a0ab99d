#include "base/stop_contract.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "liveconf/clock.hpp"

#include "base/clock_condition.hpp"
#include "testutil/stop_contract.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf::detail {
namespace {

using liveconf::testing::wait_until;
using std::chrono::hours;

TEST(CallbackGateTest, WaitReturnsOnlyAfterTheRunningCallbackOnAnotherThread) {
  CallbackGate gate;
  std::function<void()> callback;
  liveconf::testing::expect_cancel_waits_for_running_callback(
      [&](std::function<void()> fn) { callback = std::move(fn); }, [&] { gate.run(callback); },
      [&] { gate.wait_unless_inside(); });
}

TEST(CallbackGateTest, InsideACallbackTheWaitReturnsAtOnce) {
  CallbackGate gate;
  EXPECT_FALSE(gate.inside());
  bool inside = false;
  const int result = gate.run([&] {
    inside = gate.inside();
    gate.wait_unless_inside();  // would deadlock without the check
    return 7;
  });
  EXPECT_TRUE(inside);
  EXPECT_EQ(result, 7);
  EXPECT_FALSE(gate.inside());
}

TEST(CallbackGateTest, AThrowingCallbackLeavesTheGateOpen) {
  CallbackGate gate;
  EXPECT_THROW(gate.run([]() -> int { throw std::runtime_error("boom"); }), std::runtime_error);
  EXPECT_FALSE(gate.inside());
  bool ran = false;
  gate.run([&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(JoinUnlessSelfTest, JoinsFromAnotherThreadAndDetachesFromItsOwn) {
  std::atomic<bool> done{false};
  std::thread other([&] { done = true; });
  join_unless_self(other);
  EXPECT_FALSE(other.joinable());
  EXPECT_TRUE(done.load());

  auto self = std::make_shared<std::thread>();
  std::atomic<bool> go{false};
  std::atomic<int> joinable_after{-1};
  *self = std::thread([self, &go, &joinable_after] {
    ASSERT_TRUE(wait_until([&] { return go.load(); }));
    join_unless_self(*self);
    joinable_after = self->joinable() ? 1 : 0;
  });
  go = true;
  ASSERT_TRUE(wait_until([&] { return joinable_after.load() != -1; }));
  EXPECT_EQ(joinable_after.load(), 0);
  join_unless_self(*self);  // already detached: nothing to do
}

TEST(ClockConditionTest, AManualClockJumpEndsATimedWait) {
  auto clock = std::make_shared<ManualClock>();
  Mutex mu;
  ClockCondition cond(clock, mu);
  bool stop = false;
  std::atomic<int> result{-1};
  std::thread waiter([&] {
    MutexLock lk(mu);
    result = cond.wait_until(lk, cond.now() + hours(1), [&] { return stop; }) ? 1 : 0;
  });
  // Advance until the waiter (which may not have started waiting yet) sees it.
  const bool woke = wait_until([&] {
    clock->advance(hours(1));
    return result.load() != -1;
  });
  if (!woke) {
    {
      MutexLock lk(mu);
      stop = true;
    }
    cond.notify_all();
  }
  waiter.join();
  EXPECT_TRUE(woke);
  EXPECT_EQ(result.load(), 0) << "the deadline passed; the predicate never held";
}

TEST(ClockConditionTest, ThePredicateEndsTheWaitBeforeTheDeadline) {
  auto clock = std::make_shared<ManualClock>();
  Mutex mu;
  ClockCondition cond(clock, mu);
  bool ready = false;
  std::atomic<int> result{-1};
  std::thread waiter([&] {
    MutexLock lk(mu);
    result = cond.wait_until(lk, cond.now() + hours(1), [&] { return ready; }) ? 1 : 0;
  });
  {
    MutexLock lk(mu);
    ready = true;
  }
  cond.notify_all();
  waiter.join();
  EXPECT_EQ(result.load(), 1);
}

}  // namespace
}  // namespace liveconf::detail
