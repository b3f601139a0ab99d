#include "store/update_executor.hpp"

#include <future>
#include <utility>

#include "base/backoff.hpp"

namespace liveconf::detail {

UpdateExecutor::UpdateExecutor(std::shared_ptr<const Clock> clock,
                               std::function<void(UpdateThread&)> recover, FailureLog on_failure)
    : clock_(clock ? std::move(clock) : steady_clock_source()),
      recover_(std::move(recover)),
      on_failure_(std::move(on_failure)) {
  // A ManualClock's jump may make a timer due: look again.
  clock_jumps_ = clock_->listen([this] {
    { MutexLock lk(mu_); }
    cv_.notify_all();
  });
  thread_ = std::thread([this] { loop(); });
}

UpdateExecutor::~UpdateExecutor() { stop(); }

void UpdateExecutor::stop() {
  {
    MutexLock lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  clock_jumps_.reset();
}

void UpdateExecutor::loop() {
  thread_id_.store(std::this_thread::get_id());
  UpdateThread proof(*clock_);
  while (true) {
    Task task;
    bool recover_now = false;
    {
      MutexLock lk(mu_);
      while (!task && !recover_now) {
        std::optional<Clock::TimePoint> next;
        if (!timers_.empty()) {
          next = timers_.begin()->first;
        }
        if (recover_at_ && (!next || *recover_at_ < *next)) {
          next = recover_at_;
        }
        if (!queue_.empty()) {
          task = std::move(queue_.front());
          queue_.pop_front();
        } else if (stopping_) {
          return;
        } else if (next && clock_->now() >= *next) {
          if (recover_at_ && *recover_at_ == *next) {
            recover_at_.reset();
            recover_now = true;
          } else {
            task = std::move(timers_.begin()->second);
            timers_.erase(timers_.begin());
          }
        } else if (next) {
          // Real time for a real clock; a ManualClock's jump wakes us early.
          lk.wait_for(cv_, clock_->until(*next),
                      [this]() LIVECONF_REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
        } else {
          lk.wait(cv_, [this]() LIVECONF_REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
        }
      }
    }
    // Nothing may escape: an exception here (out of memory, a throwing
    // source or callback past the places that turn them into errors) would
    // end the process. The snapshot is only ever replaced whole, so the
    // current one keeps serving; `recover_` then reloads every source, so a
    // change whose handling failed is not lost.
    try {
      if (recover_now) {
        recover_(proof);
        failures_ = 0;
      } else {
        task(proof);
      }
    } catch (...) {
      after_failure();
    }
  }
}

void UpdateExecutor::after_failure() noexcept {
  const std::chrono::milliseconds delay = backoff(std::chrono::milliseconds(10), failures_);
  ++failures_;
  {
    MutexLock lk(mu_);
    recover_at_ = clock_->now() + delay;
  }
  try {
    on_failure_(delay);
  } catch (...) {  // out of memory even for the message: the recovery still comes
  }
}

void UpdateExecutor::post(Task task) {
  {
    MutexLock lk(mu_);
    if (stopping_) {
      return;
    }
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void UpdateExecutor::post_at(Clock::TimePoint when, Task task) {
  {
    MutexLock lk(mu_);
    if (stopping_) {
      return;
    }
    timers_.emplace(when, std::move(task));
  }
  cv_.notify_one();
}

Status UpdateExecutor::run_sync(const std::function<Status(UpdateThread&)>& fn) {
  if (std::this_thread::get_id() == thread_id_.load()) {
    return Error(ErrorCode::kInternal,
                 "a mutating ConfigManager call was made on its update thread (from a "
                 "validator or parser); it would deadlock");
  }
  auto done = std::make_shared<std::promise<Status>>();
  std::future<Status> result = done->get_future();
  {
    MutexLock lk(mu_);
    if (stopping_) {
      return Error(ErrorCode::kCancelled, "the ConfigManager is shutting down");
    }
    queue_.emplace_back([&fn, done](UpdateThread& t) {
      try {
        done->set_value(fn(t));
      } catch (...) {
        done->set_exception(std::current_exception());
      }
    });
  }
  cv_.notify_one();
  return result.get();
}

}  // namespace liveconf::detail
