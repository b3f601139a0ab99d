#include "liveconf/subscription.hpp"

#include "store/subscription_state.hpp"

namespace liveconf {

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    cancel();
    state_ = std::move(other.state_);
  }
  return *this;
}

Subscription::~Subscription() { cancel(); }

void Subscription::cancel() noexcept {
  if (!state_) {
    return;
  }
  state_->active.store(false, std::memory_order_release);
  // Wait for a call in progress on another thread; none starts after this.
  state_->gate.wait_unless_inside();
  // state_ is kept (only the destructor and move-assignment release it), so
  // active() on this handle stays safe while fn cancels it on another thread.
}

bool Subscription::active() const noexcept {
  return state_ != nullptr && state_->active.load(std::memory_order_acquire);
}

}  // namespace liveconf
