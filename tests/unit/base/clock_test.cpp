#include "liveconf/clock.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace liveconf {
namespace {

using std::chrono::milliseconds;

TEST(ClockTest, SteadySourceFollowsSteadyClock) {
  std::shared_ptr<const Clock> clock = steady_clock_source();
  const auto before = std::chrono::steady_clock::now();
  const auto t = clock->now();
  EXPECT_GE(t, before);
  EXPECT_LE(t, std::chrono::steady_clock::now());
  EXPECT_EQ(clock.get(), steady_clock_source().get());
  EXPECT_EQ(clock->until(t - milliseconds(5)), std::chrono::nanoseconds(0));
  EXPECT_GT(clock->until(t + std::chrono::hours(1)), std::chrono::minutes(59));
}

TEST(ClockTest, ManualClockMovesOnlyWhenAdvancedAndNeverBack) {
  ManualClock clock;
  const auto t0 = clock.now();
  EXPECT_EQ(clock.now(), t0);
  clock.advance(milliseconds(250));
  EXPECT_EQ(clock.now() - t0, milliseconds(250));
  clock.advance(-milliseconds(100));
  EXPECT_EQ(clock.now() - t0, milliseconds(250));
  EXPECT_EQ(clock.until(t0 + milliseconds(300)), milliseconds(50));
}

TEST(ClockTest, ListenersRunOnEveryAdvanceUntilTheirHandleDies) {
  ManualClock clock;
  int calls = 0;
  Clock::Listening listening = clock.listen([&] { ++calls; });
  clock.advance(milliseconds(1));
  clock.advance(milliseconds(1));
  EXPECT_EQ(calls, 2);
  listening.reset();
  clock.advance(milliseconds(1));
  EXPECT_EQ(calls, 2);
}

TEST(ClockTest, SteadyClockNeverCallsListeners) {
  int calls = 0;
  Clock::Listening listening = steady_clock_source()->listen([&] { ++calls; });
  EXPECT_EQ(calls, 0);
}

// The shape every waiter on a Clock uses: wait in real time for until(), and
// let the listener (which takes the waiter's mutex) end the wait early. No
// advance may be lost between reading the deadline and starting to wait.
TEST(ClockTest, AWaiterWakesOnAdvanceWithoutRealTimePassing) {
  ManualClock clock;
  std::mutex mu;
  std::condition_variable cv;
  Clock::Listening listening = clock.listen([&] {
    { std::lock_guard<std::mutex> lk(mu); }
    cv.notify_all();
  });
  const auto deadline = clock.now() + std::chrono::hours(1);
  std::atomic<bool> woke{false};
  std::thread waiter([&] {
    std::unique_lock<std::mutex> lk(mu);
    while (clock.now() < deadline) {
      cv.wait_for(lk, clock.until(deadline));
    }
    woke = true;
  });
  for (int i = 0; i < 4; ++i) {
    clock.advance(std::chrono::minutes(15));
  }
  waiter.join();  // an hour of manual time, no hour of real time
  EXPECT_TRUE(woke.load());
}

TEST(ClockTest, DestroyingTheHandleWaitsForARunningListener) {
  ManualClock clock;
  std::atomic<bool> inside{false};
  std::atomic<bool> release{false};
  std::atomic<bool> finished{false};
  auto listening = std::make_unique<Clock::Listening>(clock.listen([&] {
    inside = true;
    while (!release.load()) {
      std::this_thread::yield();
    }
    finished = true;
  }));
  std::thread mover([&] { clock.advance(milliseconds(1)); });
  while (!inside.load()) {
    std::this_thread::yield();
  }
  std::thread stopper([&] {
    listening.reset();
    EXPECT_TRUE(finished.load());  // reset() returned only after the call ended
  });
  release = true;
  stopper.join();
  mover.join();
}

}  // namespace
}  // namespace liveconf
