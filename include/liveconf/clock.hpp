// File: liveconf/clock.hpp
//
// The time that debounce, retry backoff, poll intervals and TTLs are measured
// in. Production code uses the steady clock (`steady_clock_source()`); tests
// and simulations pass a ManualClock and move time by hand, so a test of
// "reloads after a 200 ms quiet period" neither sleeps nor races:
//
//   auto clock = std::make_shared<liveconf::ManualClock>();
//   liveconf::ManagerOptions options;
//   options.clock = clock;
//   liveconf::ConfigManager manager(options);
//   // ... a source signals a change ...
//   clock->advance(std::chrono::milliseconds(200));  // the quiet period ends now
//
// Only deadlines follow the clock. Work itself (reading a file, an etcd
// round trip) takes the real time it takes, and the wall-clock stamps of
// snapshots (`Snapshot::published_at`) stay real.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "liveconf/export.hpp"

namespace liveconf {

/// A monotonic time source. Thread-safety: every member may be called from any
/// thread at once.
class LIVECONF_API Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  /// Keeps a listener registered (see listen()); destroying it unregisters,
  /// and once the destructor returns the listener is not running and will not
  /// run again.
  class LIVECONF_API Listening {
   public:
    Listening() noexcept = default;
    explicit Listening(std::function<void()> stop) noexcept : stop_(std::move(stop)) {}
    Listening(Listening&& other) noexcept : stop_(std::move(other.stop_)) { other.stop_ = nullptr; }
    Listening& operator=(Listening&& other) noexcept;
    Listening(const Listening&) = delete;
    Listening& operator=(const Listening&) = delete;
    ~Listening() { reset(); }
    void reset() noexcept;

   private:
    std::function<void()> stop_;
  };

  virtual ~Clock() = default;

  [[nodiscard]] virtual TimePoint now() const noexcept = 0;

  /// Calls `on_jump` (on the thread that moved the time) whenever the time
  /// moves other than by passing on its own: a ManualClock's advance(). A
  /// waiter with a deadline on this clock registers here, so it looks at its
  /// deadline again. A real clock never calls it, and returns an empty
  /// Listening. `on_jump` must be quick and must not call back into the clock.
  [[nodiscard]] virtual Listening listen(std::function<void()> on_jump) const;

  /// How long until `deadline` on this clock, for a condition-variable wait
  /// in real time (zero when it has passed). With a ManualClock the wait
  /// ends early through listen() when the time jumps.
  [[nodiscard]] std::chrono::nanoseconds until(TimePoint deadline) const noexcept;
};

/// std::chrono::steady_clock, shared by every user.
[[nodiscard]] LIVECONF_API std::shared_ptr<const Clock> steady_clock_source();

/// A clock that moves only when told to. Starts at an arbitrary fixed point.
class LIVECONF_API ManualClock final : public Clock {
 public:
  ManualClock();
  ~ManualClock() override;

  [[nodiscard]] TimePoint now() const noexcept override;
  [[nodiscard]] Listening listen(std::function<void()> on_jump) const override;

  /// Moves the time forward by `d` (negative durations are ignored: the clock
  /// is monotonic) and then calls every listener.
  void advance(std::chrono::nanoseconds d);

  // Implementation details below.
  struct Listener;

 private:
  mutable std::mutex mu_;
  TimePoint now_;
  mutable std::vector<std::shared_ptr<Listener>> listeners_;
};

}  // namespace liveconf
