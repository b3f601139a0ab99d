// The shared state behind a Subscription handle and the dispatcher's list.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>

#include "liveconf/store.hpp"

namespace liveconf::detail {

struct SubscriptionState {
  KeyPath prefix;
  ChangeFn fn;
  // Held for the duration of each call, so cancel() from another thread can
  // wait for a running call to finish.
  std::mutex call_mu;
  std::atomic<bool> active{true};
  // The thread inside fn, so cancel() from within fn does not wait on itself.
  std::atomic<std::thread::id> calling{};
  // Dispatch thread only: the snapshot this subscriber last saw.
  SnapshotPtr last;
};

}  // namespace liveconf::detail
