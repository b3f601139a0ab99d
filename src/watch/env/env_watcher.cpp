// EnvironmentWatcher: one pass over environ per poll (under the environment
// lock), strings copied only when a value changed. The seed's Python class
// calls os.getenv per watched variable; a getenv per variable here would scan
// environ once per variable.
//
// Each poll compares every environ entry's bytes with the entry found at the
// same position last time (one strcmp). An entry that did not change reuses
// what that poll learned (which watched variable it is, and whether it gave
// that variable its value) instead of splitting and hashing its name again;
// only changed positions are looked up. Comparing bytes, not pointers, keeps
// this right for putenv() buffers changed in place and for a string freed and
// reallocated at the same address. A poll where nothing changed is a strcmp
// per entry, without hashing, allocation or a pass over the watched names.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <iostream>
#include <set>
#include <thread>
#include <unordered_map>

#include "liveconf/env.hpp"

#include "base/clock_condition.hpp"
#include "base/stop_contract.hpp"
#include "sources/env/environment.hpp"

namespace liveconf {
namespace {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct Watch {
  EnvironmentWatcher::WatchId id = 0;
  std::vector<std::string> names;  // exact names (empty for a prefix watch)
  std::optional<std::string> prefix;
  std::map<std::string, std::string> prefix_values;  // a prefix watch's last view
  EnvCallback callback;
  std::atomic<bool> active{true};
};

struct VarState {
  std::optional<std::string> value;
  int watchers = 0;
  std::uint64_t seen_in_poll = 0;  // the last poll that found it set
};

// What the last poll found at one position of environ.
struct EnvSlot {
  static constexpr std::size_t kMalformed = std::string::npos;
  std::string entry;          // "NAME=value", as it was
  std::size_t name_size = 0;  // of NAME; kMalformed without a '=' past the first byte
  VarState* var = nullptr;    // the watched variable NAME is, or null
  // This entry was the first for `var` (getenv's answer) and `var->value`
  // equals its value. Every poll visits every slot and sets this again.
  bool gave_value = false;

  [[nodiscard]] std::string_view name() const {
    return std::string_view(entry).substr(0, name_size);
  }
  [[nodiscard]] std::string_view value() const {
    return std::string_view(entry).substr(name_size + 1);
  }
};

void default_error(std::string_view message) { std::cerr << "liveconf: " << message << '\n'; }

}  // namespace

struct EnvironmentWatcher::Impl : std::enable_shared_from_this<EnvironmentWatcher::Impl> {
  explicit Impl(EnvironmentWatcherOptions o)
      : options(std::move(o)), wake_cv(options.clock, thread_mu) {
    if (!options.on_error) {
      options.on_error = default_error;
    }
    if (options.poll_interval <= std::chrono::milliseconds::zero()) {
      options.poll_interval = std::chrono::milliseconds(1);
    }
  }

  EnvironmentWatcherOptions options;

  // Polls and callbacks, one at a time.
  detail::CallbackGate gate;

  // Watches and last-seen values.
  detail::Mutex mu;
  std::uint64_t next_id LIVECONF_GUARDED_BY(mu) = 1;
  std::vector<std::shared_ptr<Watch>> watches LIVECONF_GUARDED_BY(mu);
  std::unordered_map<std::string, VarState, StringHash, std::equal_to<>> vars
      LIVECONF_GUARDED_BY(mu);
  // environ as the last poll saw it, position by position. Its `var`
  // pointers stay valid while `vars` only grows (an unordered_map never moves
  // its elements); add() and remove() clear it, since a slot's answer to
  // "watched?" may change.
  std::vector<EnvSlot> slots LIVECONF_GUARDED_BY(mu);
  std::uint64_t poll_count LIVECONF_GUARDED_BY(mu) = 0;
  std::size_t valued LIVECONF_GUARDED_BY(mu) = 0;  // vars whose value is set
  std::atomic<std::uint64_t> polls{0};

  // The polling thread.
  detail::Mutex thread_mu;
  detail::ClockCondition wake_cv;
  bool woken LIVECONF_GUARDED_BY(thread_mu) = false;
  bool stopping LIVECONF_GUARDED_BY(thread_mu) = false;
  std::thread thread;  // started/joined under control_mu
  std::unique_ptr<detail::EnvListener> listener;
  detail::Mutex control_mu;  // start()/stop()
  std::atomic<bool> running{false};

  WatchId add(std::shared_ptr<Watch> w) {
    detail::MutexLock lk(mu);
    w->id = next_id++;
    if (w->prefix) {
      w->prefix_values = environment_snapshot(*w->prefix);
    }
    // One pass over the environment for all names (not one getenv scan each).
    const std::map<std::string, std::string> now =
        w->names.empty() ? std::map<std::string, std::string>() : environment_snapshot();
    for (const std::string& n : w->names) {
      auto [it, inserted] = vars.try_emplace(n);
      if (inserted) {
        if (auto v = now.find(n); v != now.end()) {
          it->second.value = v->second;
          ++valued;
        }
      }
      ++it->second.watchers;
    }
    slots.clear();
    watches.push_back(w);
    return w->id;
  }

  void remove(WatchId id) {
    {
      detail::MutexLock lk(mu);
      auto it =
          std::find_if(watches.begin(), watches.end(), [&](const auto& w) { return w->id == id; });
      if (it == watches.end()) {
        return;
      }
      (*it)->active.store(false);
      slots.clear();
      for (const std::string& n : (*it)->names) {
        auto v = vars.find(n);
        if (v != vars.end() && --v->second.watchers == 0) {
          valued -= v->second.value ? 1 : 0;
          vars.erase(v);
        }
      }
      watches.erase(it);
    }
    gate.wait_unless_inside();
  }

  std::size_t poll() {
    if (gate.inside()) {
      return 0;  // from one of our callbacks: this poll is already running
    }
    return gate.run([this] { return poll_inside_gate(); });
  }

  std::size_t poll_inside_gate() {
    EnvChanges exact;
    std::vector<std::pair<std::shared_ptr<Watch>, EnvChanges>> calls;
    {
      detail::MutexLock lk(mu);
      const std::uint64_t poll_id = ++poll_count;
      std::vector<std::pair<Watch*, std::map<std::string, std::string>>> prefixed;
      for (const auto& w : watches) {
        if (w->prefix) {
          prefixed.emplace_back(w.get(), std::map<std::string, std::string>());
        }
      }
      const std::size_t valued_before = valued;
      std::size_t valued_seen = 0;  // of those, found set again
      std::size_t position = 0;
      detail::for_each_env_string([&](const char* raw) {
        bool unchanged = false;
        EnvSlot& slot = slot_at(position++, raw, unchanged);
        VarState* var = slot.var;
        // Same bytes, and they were var's value last poll: still are.
        const bool known_equal = unchanged && slot.gave_value;
        slot.gave_value = false;
        if (var != nullptr && var->seen_in_poll != poll_id) {  // the first of duplicates
          var->seen_in_poll = poll_id;
          const bool was_set = var->value.has_value();
          valued_seen += was_set ? 1 : 0;
          const std::string_view value = slot.value();
          if (!known_equal && var->value != value) {
            exact[std::string(slot.name())] = EnvChange{std::move(var->value), std::string(value)};
            valued += was_set ? 0 : 1;
            var->value = std::string(value);
          }
          slot.gave_value = true;
        }
        if (!prefixed.empty() && slot.name_size != EnvSlot::kMalformed) {
          for (auto& [w, now] : prefixed) {
            if (slot.name().starts_with(*w->prefix)) {
              now.emplace(std::string(slot.name()), std::string(slot.value()));
            }
          }
        }
      });
      slots.resize(position);
      if (valued_seen < valued_before) {  // some variable was unset
        for (auto& [name, state] : vars) {
          if (state.seen_in_poll != poll_id && state.value) {
            exact[name] = EnvChange{std::move(state.value), std::nullopt};
            state.value.reset();
            --valued;
          }
        }
      }
      for (const auto& w : watches) {
        EnvChanges mine;
        // Walk the smaller side: usually a few changes against many names
        // (w->names is sorted).
        if (exact.size() < w->names.size()) {
          for (const auto& change : exact) {
            if (std::binary_search(w->names.begin(), w->names.end(), change.first)) {
              mine.insert(change);
            }
          }
        } else {
          for (const std::string& n : w->names) {
            if (auto it = exact.find(n); it != exact.end()) {
              mine.emplace(*it);
            }
          }
        }
        if (w->prefix) {
          auto& now = std::find_if(prefixed.begin(), prefixed.end(), [&](const auto& p) {
                        return p.first == w.get();
                      })->second;
          diff_maps(w->prefix_values, now, mine);
          w->prefix_values = std::move(now);
        }
        if (!mine.empty()) {
          calls.emplace_back(w, std::move(mine));
        }
      }
    }
    std::set<std::string> changed;
    for (auto& [w, changes] : calls) {
      for (const auto& [name, c] : changes) {
        changed.insert(name);
      }
      if (!w->active.load()) {
        continue;  // removed by an earlier callback of this poll
      }
      try {
        w->callback(changes);
      } catch (const std::exception& ex) {
        options.on_error("environment watcher: callback for " + names_of(changes) +
                         " threw: " + ex.what());
      } catch (...) {
        options.on_error("environment watcher: callback for " + names_of(changes) +
                         " threw a non-standard exception");
      }
    }
    polls.fetch_add(1);
    return changed.size();
  }

  // The slot for environ's entry `raw` at `position`: last poll's, when its
  // bytes did not change; otherwise filled in anew (split, name looked up).
  EnvSlot& slot_at(std::size_t position, const char* raw, bool& unchanged) LIVECONF_REQUIRES(mu) {
    unchanged = false;
    if (position < slots.size()) {
      EnvSlot& slot = slots[position];
      if (std::strcmp(raw, slot.entry.c_str()) == 0) {
        unchanged = true;
        return slot;
      }
    } else {
      slots.emplace_back();
    }
    EnvSlot& slot = slots[position];
    slot.entry.assign(raw);
    slot.gave_value = false;
    const std::size_t eq = slot.entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      // Not NAME=VALUE (possible through execve): nobody can set it.
      slot.name_size = EnvSlot::kMalformed;
      slot.var = nullptr;
      return slot;
    }
    slot.name_size = eq;
    auto it = vars.find(slot.name());
    slot.var = it == vars.end() ? nullptr : &it->second;
    return slot;
  }

  static void diff_maps(const std::map<std::string, std::string>& before,
                        const std::map<std::string, std::string>& after, EnvChanges& out) {
    auto a = before.begin();
    auto b = after.begin();
    while (a != before.end() || b != after.end()) {
      if (b == after.end() || (a != before.end() && a->first < b->first)) {
        out[a->first] = EnvChange{a->second, std::nullopt};
        ++a;
      } else if (a == before.end() || b->first < a->first) {
        out[b->first] = EnvChange{std::nullopt, b->second};
        ++b;
      } else {
        if (a->second != b->second) {
          out[a->first] = EnvChange{a->second, b->second};
        }
        ++a;
        ++b;
      }
    }
  }

  static std::string names_of(const EnvChanges& changes) {
    std::string out;
    for (const auto& [name, c] : changes) {
      out += (out.empty() ? "" : ", ") + name;
    }
    return out;
  }

  void loop() {
    while (true) {
      {
        detail::MutexLock lk(thread_mu);
        wake_cv.wait_until(lk, wake_cv.now() + options.poll_interval,
                           [this]() LIVECONF_REQUIRES(thread_mu) { return woken || stopping; });
        if (stopping) {
          return;
        }
        woken = false;
      }
      (void)poll();
    }
  }

  void wake() {
    {
      detail::MutexLock lk(thread_mu);
      woken = true;
    }
    wake_cv.notify_one();
  }

  Status start() {
    detail::MutexLock control(control_mu);
    if (thread.joinable()) {
      return ok_status();
    }
    {
      detail::MutexLock lk(thread_mu);
      stopping = false;
      woken = false;
    }
    std::weak_ptr<Impl> weak = weak_from_this();
    listener = std::make_unique<detail::EnvListener>([weak] {
      if (auto self = weak.lock()) {
        self->wake();
      }
    });
    try {
      thread = std::thread([self = shared_from_this()] { self->loop(); });
    } catch (const std::system_error& e) {
      listener.reset();
      return Error(ErrorCode::kInternal,
                   std::string("cannot start the environment watcher thread: ") + e.what());
    }
    running.store(true);
    return ok_status();
  }

  void stop() {
    detail::MutexLock control(control_mu);
    running.store(false);
    listener.reset();  // not under thread_mu: wake_all() holds its lock while waking us
    {
      detail::MutexLock lk(thread_mu);
      stopping = true;
    }
    wake_cv.notify_one();
    detail::join_unless_self(thread);  // from a callback: the thread ends after it returns
  }
};

EnvironmentWatcher::EnvironmentWatcher(std::chrono::milliseconds poll_interval)
    : EnvironmentWatcher(EnvironmentWatcherOptions{.poll_interval = poll_interval}) {}

Result<std::unique_ptr<EnvironmentWatcher>> EnvironmentWatcher::create(
    EnvironmentWatcherOptions options) {
  auto watcher = std::make_unique<EnvironmentWatcher>(std::move(options));
  if (Status st = watcher->start(); !st.ok()) {
    return st;
  }
  return watcher;
}

EnvironmentWatcher::EnvironmentWatcher(EnvironmentWatcherOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {}

EnvironmentWatcher::~EnvironmentWatcher() { impl_->stop(); }

EnvironmentWatcher::WatchId EnvironmentWatcher::watch_var(std::string name, EnvCallback callback) {
  return watch_vars({std::move(name)}, std::move(callback));
}

EnvironmentWatcher::WatchId EnvironmentWatcher::watch_vars(std::vector<std::string> names,
                                                           EnvCallback callback) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  auto w = std::make_shared<Watch>();
  w->names = std::move(names);
  w->callback = std::move(callback);
  return impl_->add(std::move(w));
}

EnvironmentWatcher::WatchId EnvironmentWatcher::watch_prefix(std::string prefix,
                                                             EnvCallback callback) {
  auto w = std::make_shared<Watch>();
  w->prefix = std::move(prefix);
  w->callback = std::move(callback);
  return impl_->add(std::move(w));
}

void EnvironmentWatcher::unwatch(WatchId id) { impl_->remove(id); }

Status EnvironmentWatcher::start() { return impl_->start(); }

void EnvironmentWatcher::stop() { impl_->stop(); }

bool EnvironmentWatcher::running() const noexcept { return impl_->running.load(); }

std::size_t EnvironmentWatcher::poll() { return impl_->poll(); }

std::uint64_t EnvironmentWatcher::polls() const noexcept { return impl_->polls.load(); }

}  // namespace liveconf
