// The stop contract every callback-running object shares (watch backends,
// the environment watcher, subscriptions): once cancel/stop returns, the
// callback is not running and will not run again, except when the caller is
// that very callback, where waiting for itself would deadlock; it then
// returns at once and the callback finishes on its own.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <utility>

namespace liveconf::detail {

// Runs callbacks one at a time and lets a canceller wait for the running one
// unless it is called from inside it.
class CallbackGate {
 public:
  // Runs `fn` inside the gate and returns what it returns. Calls never
  // overlap; a call from inside a running call would deadlock (check inside()).
  template <typename Fn>
  decltype(auto) run(Fn&& fn) {
    std::lock_guard<std::mutex> lk(mu_);
    const Inside mark(calling_);
    return std::forward<Fn>(fn)();
  }

  // Returns once no callback is running; from inside one, returns at once.
  void wait_unless_inside() {
    if (!inside()) {
      std::lock_guard<std::mutex> wait(mu_);
    }
  }

  // True on the thread running a callback through this gate.
  [[nodiscard]] bool inside() const noexcept {
    return calling_.load(std::memory_order_acquire) == std::this_thread::get_id();
  }

 private:
  // Marks the running thread, and unmarks it even when the callback throws.
  class Inside {
   public:
    explicit Inside(std::atomic<std::thread::id>& calling) : calling_(calling) {
      calling_.store(std::this_thread::get_id(), std::memory_order_release);
    }
    ~Inside() { calling_.store(std::thread::id(), std::memory_order_release); }
    Inside(const Inside&) = delete;
    Inside& operator=(const Inside&) = delete;

   private:
    std::atomic<std::thread::id>& calling_;
  };

  std::mutex mu_;
  std::atomic<std::thread::id> calling_{};
};

// Joins `thread`, or detaches it when called on that thread (a stop from one
// of its own callbacks): it then ends once the callback returns, so whatever
// it uses must be co-owned by the thread (a shared_ptr it captured).
inline void join_unless_self(std::thread& thread) {
  if (!thread.joinable()) {
    return;
  }
  if (thread.get_id() == std::this_thread::get_id()) {
    thread.detach();
  } else {
    thread.join();
  }
}

}  // namespace liveconf::detail
