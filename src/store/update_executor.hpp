// The update thread: one thread runs every task that reads or changes a
// config's layers and sources, in the order they were queued, plus timers
// (debounce, retry backoff) measured on the manager's Clock.
//
// Thread ownership is in the types: a task receives an UpdateThread, which
// only the executor can make, and state that only the update thread may touch
// is kept in an UpdateThreadOwned<T>, readable only with that proof. Code
// that is not handed one cannot reach the state; no comment has to say so.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "liveconf/clock.hpp"
#include "liveconf/status.hpp"

#include "base/mutex.hpp"

namespace liveconf::detail {

/// Proof that the caller runs on the update thread (see the file comment).
class UpdateThread {
 public:
  UpdateThread(const UpdateThread&) = delete;
  UpdateThread& operator=(const UpdateThread&) = delete;

  /// The manager's clock: what debounce and backoff deadlines are set in.
  [[nodiscard]] Clock::TimePoint now() const noexcept { return clock_.now(); }

 private:
  friend class UpdateExecutor;
  explicit UpdateThread(const Clock& clock) noexcept : clock_(clock) {}
  const Clock& clock_;
};

/// A T that only the update thread reads or writes.
template <typename T>
class UpdateThreadOwned {
 public:
  [[nodiscard]] T& get(UpdateThread&) noexcept { return value_; }
  [[nodiscard]] const T& get(const UpdateThread&) const noexcept { return value_; }

 private:
  T value_;
};

class UpdateExecutor {
 public:
  using Task = std::function<void(UpdateThread&)>;
  /// After a task threw (call inside the catch block): reports it, and that
  /// recovery comes in `retry_in`.
  using FailureLog = std::function<void(std::chrono::milliseconds retry_in)>;

  /// `recover` runs (on the update thread) after a task threw, with backoff:
  /// it must bring the state back in line with the sources (a resync).
  UpdateExecutor(std::shared_ptr<const Clock> clock, std::function<void(UpdateThread&)> recover,
                 FailureLog on_failure);
  /// Runs stop() if not done yet.
  ~UpdateExecutor();
  UpdateExecutor(const UpdateExecutor&) = delete;
  UpdateExecutor& operator=(const UpdateExecutor&) = delete;

  /// Queues `task` (dropped once stopping).
  void post(Task task);
  /// Runs `task` at `when` on the clock (dropped once stopping).
  void post_at(Clock::TimePoint when, Task task);
  /// Runs `fn` on the update thread and waits for its result. kInternal when
  /// called on the update thread (it would wait for itself), kCancelled once
  /// stopping.
  [[nodiscard]] Status run_sync(const std::function<Status(UpdateThread&)>& fn);
  /// Runs what is queued (not the timers), then ends the thread. Idempotent.
  void stop();

  [[nodiscard]] const Clock& clock() const noexcept { return *clock_; }

 private:
  void loop();
  void after_failure() noexcept;

  std::shared_ptr<const Clock> clock_;
  std::function<void(UpdateThread&)> recover_;
  FailureLog on_failure_;

  Mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_ LIVECONF_GUARDED_BY(mu_);
  std::multimap<Clock::TimePoint, Task> timers_ LIVECONF_GUARDED_BY(mu_);
  std::optional<Clock::TimePoint> recover_at_ LIVECONF_GUARDED_BY(mu_);
  bool stopping_ LIVECONF_GUARDED_BY(mu_) = false;
  unsigned failures_ = 0;  // the update thread's: failures since the last recovery
  std::atomic<std::thread::id> thread_id_{};
  Clock::Listening clock_jumps_;
  std::thread thread_;
};

}  // namespace liveconf::detail
