// The shared state behind a Subscription handle and the dispatcher's list.
#pragma once

#include <atomic>

#include "liveconf/store.hpp"

#include "base/stop_contract.hpp"

namespace liveconf::detail {

struct SubscriptionState {
  KeyPath prefix;
  ChangeFn fn;
  // Every call runs through it, so cancel() from another thread waits for a
  // running call to finish, and cancel() from within fn does not wait on itself.
  CallbackGate gate;
  std::atomic<bool> active{true};
  // Dispatch thread only: the snapshot this subscriber last saw.
  SnapshotPtr last;
};

}  // namespace liveconf::detail
