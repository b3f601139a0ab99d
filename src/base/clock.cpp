#include "liveconf/clock.hpp"

#include <algorithm>
#include <atomic>
#include <utility>

namespace liveconf {
namespace {

class SteadyClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const noexcept override { return std::chrono::steady_clock::now(); }
};

}  // namespace

Clock::Listening& Clock::Listening::operator=(Listening&& other) noexcept {
  if (this != &other) {
    reset();
    stop_ = std::exchange(other.stop_, nullptr);
  }
  return *this;
}

void Clock::Listening::reset() noexcept {
  if (stop_) {
    std::exchange(stop_, nullptr)();
  }
}

Clock::Listening Clock::listen(std::function<void()> on_jump) const {
  (void)on_jump;
  return {};
}

std::chrono::nanoseconds Clock::until(TimePoint deadline) const noexcept {
  return std::max(std::chrono::nanoseconds(0), deadline - now());
}

std::shared_ptr<const Clock> steady_clock_source() {
  static const auto* const clock = new std::shared_ptr<const Clock>(std::make_shared<SteadyClock>());
  return *clock;  // leaked on purpose: usable from static destructors
}

// One registered listener. `mu` is held while it runs, so Listening's
// destructor, which takes it to clear `active`, waits for a running call.
struct ManualClock::Listener {
  std::mutex mu;
  std::atomic<bool> active{true};
  std::function<void()> fn;
};

ManualClock::ManualClock() : now_(std::chrono::hours(24 * 365)) {}
ManualClock::~ManualClock() = default;

Clock::TimePoint ManualClock::now() const noexcept {
  std::lock_guard<std::mutex> lk(mu_);
  return now_;
}

Clock::Listening ManualClock::listen(std::function<void()> on_jump) const {
  auto listener = std::make_shared<Listener>();
  listener->fn = std::move(on_jump);
  {
    std::lock_guard<std::mutex> lk(mu_);
    std::erase_if(listeners_, [](const auto& l) { return !l->active.load(); });
    listeners_.push_back(listener);
  }
  return Listening([listener] {
    std::lock_guard<std::mutex> lk(listener->mu);
    listener->active.store(false);
    listener->fn = nullptr;
  });
}

void ManualClock::advance(std::chrono::nanoseconds d) {
  std::vector<std::shared_ptr<Listener>> listeners;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (d > std::chrono::nanoseconds(0)) {
      now_ += std::chrono::duration_cast<TimePoint::duration>(d);
    }
    listeners = listeners_;
  }
  for (const auto& l : listeners) {
    std::lock_guard<std::mutex> lk(l->mu);
    if (l->active && l->fn) {
      l->fn();
    }
  }
}

}  // namespace liveconf
