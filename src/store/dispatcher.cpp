#include "store/dispatcher.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

namespace liveconf::detail {

Dispatcher::Dispatcher(const Registry& registry, const ManagerLog& log)
    : registry_(registry), log_(log), thread_([this] { loop(); }) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::stop() {
  {
    MutexLock lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

Subscription Dispatcher::subscribe(Entry& e, KeyPath prefix, ChangeFn fn) {
  auto state = std::make_shared<SubscriptionState>();
  state->prefix = std::move(prefix);
  state->fn = std::move(fn);
  {
    MutexLock lk(e.subs_mu);
    state->last = e.cell->load();
    e.subs.push_back(state);
  }
  // A publish may have landed between load() and registration; compare (the
  // dispatcher skips subscribers already at the current snapshot).
  mark_dirty(e);
  return Subscription(std::move(state));
}

void Dispatcher::mark_dirty(const Entry& e) noexcept {
  {
    MutexLock lk(mu_);
    try {
      dirty_.insert(e.name);
    } catch (...) {  // out of memory: look at every config
      all_dirty_ = true;
    }
  }
  cv_.notify_one();
}

void Dispatcher::loop() {
  while (true) {
    std::unordered_set<std::string> batch;
    bool all = false;
    {
      MutexLock lk(mu_);
      lk.wait(cv_, [this]() LIVECONF_REQUIRES(mu_) {
        return stopping_ || !dirty_.empty() || all_dirty_;
      });
      if (stopping_) {
        return;
      }
      batch.swap(dirty_);
      all = std::exchange(all_dirty_, false);
    }
    try {
      std::vector<std::shared_ptr<Entry>> targets;
      if (all) {
        targets = registry_.all();
      } else {
        for (const std::string& name : batch) {
          if (std::shared_ptr<Entry> e = registry_.find(name)) {
            targets.push_back(std::move(e));
          }
        }
      }
      for (const auto& e : targets) {
        dispatch(*e);
      }
    } catch (...) {
      // Out of memory while diffing: subscribers keep their last snapshot
      // and are compared again shortly (nothing is lost, calls merge).
      log_(LogLevel::kError, "a subscriber notification failed (out of memory?); retrying");
      MutexLock lk(mu_);
      all_dirty_ = true;
      lk.wait_for(cv_, std::chrono::milliseconds(100),
                  [this]() LIVECONF_REQUIRES(mu_) { return stopping_; });
    }
  }
}

// The changes from `last` to `current` that touch `prefix` (all of them
// for an empty prefix): a diff that walks only the way to the prefix, and
// the restart-pending changes `last` had not reported yet.
ChangeSet Dispatcher::changes(const Snapshot& last, const Snapshot& current,
                              const KeyPath& prefix) {
  DiffOptions opts;
  opts.sensitive = &current.sensitive();
  opts.under = prefix.empty() ? nullptr : &prefix;
  ChangeSet out = diff(last.tree(), current.tree(), opts);
  for (const Change& c : current.pending_restart()) {
    const auto& before = last.pending_restart();
    const bool seen = std::any_of(before.begin(), before.end(), [&](const Change& b) {
      return b.path == c.path && b.new_value == c.new_value;
    });
    const bool touches = c.path.starts_with(prefix) || prefix.starts_with(c.path);
    if (!seen && touches) {
      out.push_back(c);
    }
  }
  return out;
}

void Dispatcher::dispatch(Entry& e) {
  SnapshotPtr current = e.cell->load();
  std::vector<std::shared_ptr<SubscriptionState>> subs;
  {
    MutexLock lk(e.subs_mu);
    std::erase_if(e.subs, [](const auto& s) { return !s->active.load(); });
    subs = e.subs;
  }
  // Subscribers that saw the same snapshot and share a prefix share one
  // diff. Each diff walks only toward its prefix, so one subscriber to one
  // key of a 10,000-key tree is not charged for the other 9,999.
  struct Seen {
    SnapshotPtr last;  // held: its address cannot be reused while cached
    const KeyPath* prefix;
    bool operator<(const Seen& o) const {
      return last != o.last ? std::less<>()(last.get(), o.last.get()) : *prefix < *o.prefix;
    }
  };
  std::map<Seen, ChangeSet> computed;
  for (const auto& s : subs) {
    if (!s->active.load(std::memory_order_acquire) || s->last == current) {
      continue;
    }
    auto [it, fresh] = computed.try_emplace(Seen{s->last, &s->prefix});
    if (fresh) {
      it->second = changes(*s->last, *current, s->prefix);
    }
    SnapshotPtr old = std::move(s->last);
    s->last = current;
    if (it->second.empty()) {
      continue;
    }
    deliver(e, *s, old, current, it->second);
  }
}

void Dispatcher::deliver(Entry& e, SubscriptionState& s, const SnapshotPtr& old,
                         const SnapshotPtr& current, const ChangeSet& changes) {
  std::string failure;
  bool called = false;
  s.gate.run([&] {
    if (!s.active.load(std::memory_order_acquire)) {
      return;
    }
    called = true;
    try {
      s.fn(old, current, changes);
    } catch (const std::exception& ex) {
      failure = ex.what();
    } catch (...) {
      failure = "unknown exception";
    }
  });
  if (called) {
    MutexLock lk(e.stats_mu);
    ++e.stats.callbacks;
    e.stats.callback_errors += failure.empty() ? 0 : 1;
  }
  if (!failure.empty()) {
    log_(LogLevel::kWarning,
         "config \"" + e.name + "\": a subscriber threw (other subscribers still ran): " + failure);
  }
}

}  // namespace liveconf::detail
