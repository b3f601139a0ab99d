// The dispatch thread: after a publish, diffs each subscriber's last seen
// snapshot against the current one and calls it with the changes under its
// prefix. Publishing never waits for subscribers; a slow one only delays the
// next diff, and intermediate snapshots it missed merge into one call.
#pragma once

#include <condition_variable>
#include <string>
#include <thread>
#include <unordered_set>

#include "liveconf/store.hpp"

#include "base/mutex.hpp"
#include "store/config_entry.hpp"

namespace liveconf::detail {

class Dispatcher {
 public:
  Dispatcher(const Registry& registry, const ManagerLog& log);
  /// Runs stop() if not done yet.
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  /// Adds a subscriber starting from `e`'s current snapshot (its first call
  /// reports the next change). Any thread.
  [[nodiscard]] Subscription subscribe(Entry& e, KeyPath prefix, ChangeFn fn);
  /// `e` published: compare its subscribers. Any thread; never throws.
  void mark_dirty(const Entry& e) noexcept;
  /// Ends the thread; pending comparisons are dropped. Idempotent.
  void stop();

 private:
  void loop();
  void dispatch(Entry& e);
  static ChangeSet changes(const Snapshot& last, const Snapshot& current, const KeyPath& prefix);
  void deliver(Entry& e, SubscriptionState& s, const SnapshotPtr& old, const SnapshotPtr& current,
               const ChangeSet& changes);

  const Registry& registry_;
  const ManagerLog& log_;
  Mutex mu_;
  std::condition_variable cv_;
  std::unordered_set<std::string> dirty_ LIVECONF_GUARDED_BY(mu_);
  bool all_dirty_ LIVECONF_GUARDED_BY(mu_) = false;  // out of memory: look at every config
  bool stopping_ LIVECONF_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace liveconf::detail
