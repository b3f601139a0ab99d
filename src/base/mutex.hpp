// An annotated mutex so Clang's -Wthread-safety checks which members each lock
// guards (leveldb port/thread_annotations.h, Abseil's ABSL_GUARDED_BY).
// Under GCC the annotations compile to nothing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define LIVECONF_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define LIVECONF_THREAD_ANNOTATION(x)
#endif

#define LIVECONF_CAPABILITY(x) LIVECONF_THREAD_ANNOTATION(capability(x))
#define LIVECONF_SCOPED_CAPABILITY LIVECONF_THREAD_ANNOTATION(scoped_lockable)
#define LIVECONF_GUARDED_BY(x) LIVECONF_THREAD_ANNOTATION(guarded_by(x))
#define LIVECONF_REQUIRES(...) LIVECONF_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define LIVECONF_ACQUIRE(...) LIVECONF_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define LIVECONF_RELEASE(...) LIVECONF_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define LIVECONF_EXCLUDES(...) LIVECONF_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// For the few helpers that call a caller's lock-requiring predicate under a
// lock the analysis cannot see through (Abseil ABSL_NO_THREAD_SAFETY_ANALYSIS).
#define LIVECONF_NO_THREAD_SAFETY_ANALYSIS LIVECONF_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace liveconf::detail {

class LIVECONF_CAPABILITY("mutex") Mutex {
 public:
  void lock() LIVECONF_ACQUIRE() { mu_.lock(); }
  void unlock() LIVECONF_RELEASE() { mu_.unlock(); }

 private:
  friend class MutexLock;
  std::mutex mu_;
};

/// RAII lock that can also wait on a condition variable.
class LIVECONF_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) LIVECONF_ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() LIVECONF_RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  /// Waits until `pred()` holds; the lock is held whenever pred runs.
  template <typename Pred>
  void wait(std::condition_variable& cv, Pred pred) {
    cv.wait(lock_, pred);
  }
  /// Waits until `pred()` holds or `timeout` passes; returns pred().
  template <typename Rep, typename Period, typename Pred>
  bool wait_for(std::condition_variable& cv, std::chrono::duration<Rep, Period> timeout,
                Pred pred) {
    return cv.wait_for(lock_, timeout, pred);
  }
  /// Waits once: until notified, `timeout` passes, or a spurious wakeup.
  template <typename Rep, typename Period>
  void wait_once_for(std::condition_variable& cv, std::chrono::duration<Rep, Period> timeout) {
    cv.wait_for(lock_, timeout);
  }
  /// Waits until `pred()` holds or `deadline`; returns pred().
  template <typename Clock, typename Duration, typename Pred>
  bool wait_until(std::condition_variable& cv, std::chrono::time_point<Clock, Duration> deadline,
                  Pred pred) {
    return cv.wait_until(lock_, deadline, pred);
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace liveconf::detail
