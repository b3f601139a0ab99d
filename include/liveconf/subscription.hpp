// File: liveconf/subscription.hpp
//
// Subscription is the RAII handle returned by ConfigManager::subscribe. While
// it lives, its callback hears about published changes; once its destructor
// (or cancel()) returns, the callback is not called again.
//
//   liveconf::Subscription sub = manager.subscribe("app", "db", on_db_change).value();
//   ...
//   sub.cancel();   // or let it go out of scope
//
// Thread-safety: cancel() and the destructor may run on any thread, including
// inside the callback itself (then they return at once; the running call ends
// normally and no further call starts).
#pragma once

#include <memory>

#include "liveconf/export.hpp"

namespace liveconf {

namespace detail {
struct SubscriptionState;
}  // namespace detail

class LIVECONF_API Subscription {
 public:
  Subscription() noexcept = default;
  explicit Subscription(std::shared_ptr<detail::SubscriptionState> state) noexcept
      : state_(std::move(state)) {}
  Subscription(Subscription&& other) noexcept = default;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();

  /// Stops delivery. Blocks until a call running on another thread returns.
  void cancel() noexcept;
  /// True until cancelled (or moved from). Safe to call while another thread cancels.
  [[nodiscard]] bool active() const noexcept;

 private:
  std::shared_ptr<detail::SubscriptionState> state_;
};

}  // namespace liveconf
