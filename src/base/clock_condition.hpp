// A condition variable whose timed waits follow a Clock: real time under the
// steady clock, and an early look at the deadline whenever a ManualClock
// jumps (Clock::listen), so poll loops and backoffs move with a test's
// advance() instead of real sleeps.
#pragma once

#include <condition_variable>
#include <memory>
#include <utility>

#include "liveconf/clock.hpp"

#include "base/mutex.hpp"

namespace liveconf::detail {

class ClockCondition {
 public:
  // `mu` is the mutex every waiter holds; null `clock`: the steady clock.
  ClockCondition(std::shared_ptr<const Clock> clock, Mutex& mu)
      : clock_(clock ? std::move(clock) : steady_clock_source()), mu_(mu) {
    jumps_ = clock_->listen([this] {
      { MutexLock lk(mu_); }  // a waiter between its check and its wait sees the jump
      cv_.notify_all();
    });
  }
  ClockCondition(const ClockCondition&) = delete;
  ClockCondition& operator=(const ClockCondition&) = delete;

  [[nodiscard]] const Clock& clock() const noexcept { return *clock_; }
  [[nodiscard]] Clock::TimePoint now() const noexcept { return clock_->now(); }

  // Waits, holding `lk` (on mu), until `pred()` or the clock reaches
  // `deadline`; returns pred(). `pred` runs with the lock held, which the
  // analysis cannot see through a template parameter.
  template <typename Pred>
  bool wait_until(MutexLock& lk, Clock::TimePoint deadline,
                  Pred pred) LIVECONF_NO_THREAD_SAFETY_ANALYSIS {
    while (!pred()) {
      if (clock_->now() >= deadline) {
        return false;
      }
      // Real time for a real clock; a ManualClock's jump notifies early (the
      // jump listener takes mu first, so it cannot slip in before this wait).
      lk.wait_once_for(cv_, clock_->until(deadline));
    }
    return true;
  }

  void notify_all() { cv_.notify_all(); }
  void notify_one() { cv_.notify_one(); }

 private:
  std::shared_ptr<const Clock> clock_;
  Mutex& mu_;
  std::condition_variable cv_;
  Clock::Listening jumps_;  // declared last: unregistered before the rest goes
};

}  // namespace liveconf::detail
