// ConfigManager: one update thread builds and publishes snapshots; one
// dispatch thread delivers diffs to subscribers. See docs/architecture.md.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "liveconf/format.hpp"
#include "liveconf/store.hpp"

#include "base/mutex.hpp"
#include "store/subscription_state.hpp"

namespace liveconf {
namespace {

void default_log(LogLevel level, std::string_view message) {
  if (level >= LogLevel::kWarning) {
    std::cerr << "liveconf: " << (level == LogLevel::kError ? "error: " : "warning: ") << message
              << '\n';
  }
}

// Gives every node without an origin the layer's name as its source, so
// provenance never comes back empty.
void stamp_origins(Value& v, const Origin& layer_origin) {
  if (v.origin().info() == nullptr) {
    v.set_origin(layer_origin.at(v.origin().line(), v.origin().column()));
  }
  if (v.is_object()) {
    Object& obj = v.as_object();
    for (std::size_t i = 0; i < obj.size(); ++i) {
      stamp_origins(obj.value_at(i), layer_origin);
    }
  } else if (v.is_array()) {
    for (Value& e : v.as_array()) {
      stamp_origins(e, layer_origin);
    }
  }
}

// What an exception escaping a reload becomes (call inside a catch block).
// It may come from user code (a Source, a validator, a parser) or from an
// allocation. Out of memory is transient (kUnavailable: the manager retries);
// anything else is kInternal, naming what was thrown.
Error current_exception_error(std::string_view during) {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return Error(ErrorCode::kUnavailable, "out of memory " + std::string(during));
  } catch (const std::exception& ex) {
    return Error(ErrorCode::kInternal,
                 "an exception " + std::string(during) + ": " + std::string(ex.what()));
  } catch (...) {
    return Error(ErrorCode::kInternal, "an unknown exception " + std::string(during));
  }
}

// Source::load() with exceptions turned into errors.
Result<SourceLoad> guarded_load(Source& source) {
  try {
    return source.load();
  } catch (...) {
    return current_exception_error("while loading " + source.name());
  }
}

// Retries of transient failures (EIO, out of memory) back off from the
// source's quiet period (at least 10 ms) up to this.
constexpr std::chrono::milliseconds kMaxRetryDelay{30'000};

std::chrono::milliseconds backoff(std::chrono::milliseconds base, unsigned attempt) {
  base = std::max(base, std::chrono::milliseconds(10));
  const unsigned shift = std::min(attempt, 12U);
  return std::min(base * (std::int64_t{1} << shift), kMaxRetryDelay);
}

bool has_wildcard(const KeyPath& p) {
  for (const std::string& s : p.segments()) {
    if (s == "*") {
      return true;
    }
  }
  return false;
}

}  // namespace

struct ConfigManager::Impl {
  struct Entry {
    std::string name;
    detail::TypeBinding binding;
    bool strict = false;
    MergePolicies policies;
    SensitivePaths sensitive;
    std::vector<KeyPath> restart_paths;
    std::shared_ptr<detail::SnapshotCell> cell = std::make_shared<detail::SnapshotCell>();

    // Update thread only.
    std::vector<std::shared_ptr<const Layer>> layers;
    std::uint64_t override_counter = 0;
    // The layers given at registration (defaults, initial, options.layers):
    // they stay below every source's layers of the same priority.
    std::unordered_set<std::string> base_layers;

    mutable detail::Mutex stats_mu;
    std::uint64_t publishes LIVECONF_GUARDED_BY(stats_mu) = 0;
    std::uint64_t failures LIVECONF_GUARDED_BY(stats_mu) = 0;
    std::uint64_t callback_errors LIVECONF_GUARDED_BY(stats_mu) = 0;
    std::optional<Error> last_error LIVECONF_GUARDED_BY(stats_mu);

    detail::Mutex subs_mu;
    std::vector<std::shared_ptr<detail::SubscriptionState>> subs LIVECONF_GUARDED_BY(subs_mu);

    // Sources (update thread only) and a copy of their status for status().
    struct SourceSlot {
      std::uint64_t id = 0;
      std::unique_ptr<Source> source;
      WatchHandle watch;
      std::vector<std::string> layer_names;  // its live layers
      // The newest load whose layers were refused (they did not bind or
      // validate with the rest): tried again with every later change of the
      // config, since another source's change can make it valid.
      std::optional<SourceLoad> refused;
      SourceState state = SourceState::kOk;
      std::optional<Error> last_error;
      std::uint64_t loads = 0;
      std::uint64_t signals = 0;
      bool pending = false;           // a signal arrived; a reload is scheduled
      unsigned retries = 0;           // transient failures in a row (backoff)
      std::uint64_t retry_token = 0;  // a scheduled retry runs only if unchanged
      std::chrono::steady_clock::time_point first_signal;
      std::chrono::steady_clock::time_point last_signal;
    };
    std::vector<std::unique_ptr<SourceSlot>> sources;
    std::vector<SourceStatus> source_status LIVECONF_GUARDED_BY(stats_mu);
  };

  explicit Impl(ManagerOptions opts) : options(std::move(opts)) {
    if (!options.log) {
      options.log = default_log;
    }
    update_thread = std::thread([this] { update_loop(); });
    dispatch_thread = std::thread([this] { dispatch_loop(); });
  }

  ~Impl() {
    // Watches first: once cancelled, no watcher thread can post to us again.
    (void)run_sync([this]() -> Status {
      std::shared_lock<std::shared_mutex> lk(entries_mu);
      for (auto& [name, e] : entries) {
        for (auto& slot : e->sources) {
          slot->watch.cancel();
        }
      }
      return ok_status();
    });
    {
      detail::MutexLock lk(queue_mu);
      stopping = true;
    }
    queue_cv.notify_all();
    update_thread.join();
    {
      detail::MutexLock lk(dirty_mu);
      dispatch_stopping = true;
    }
    dirty_cv.notify_all();
    dispatch_thread.join();
  }

  // ---- update thread -------------------------------------------------------

  void update_loop() {
    update_thread_id.store(std::this_thread::get_id());
    using SteadyClock = std::chrono::steady_clock;
    while (true) {
      std::function<void()> task;
      bool resync_now = false;
      {
        detail::MutexLock lk(queue_mu);
        while (!task && !resync_now) {
          std::optional<SteadyClock::time_point> next;
          if (!timers.empty()) {
            next = timers.begin()->first;
          }
          if (resync_at && (!next || *resync_at < *next)) {
            next = resync_at;
          }
          if (!queue.empty()) {
            task = std::move(queue.front());
            queue.pop_front();
          } else if (stopping) {
            return;
          } else if (next && SteadyClock::now() >= *next) {
            if (resync_at && *resync_at == *next) {
              resync_at.reset();
              resync_now = true;
            } else {
              task = std::move(timers.begin()->second);
              timers.erase(timers.begin());
            }
          } else if (next) {
            lk.wait_until(queue_cv, *next, [this]() LIVECONF_REQUIRES(queue_mu) {
              return stopping || !queue.empty();
            });
          } else {
            lk.wait(queue_cv,
                    [this]() LIVECONF_REQUIRES(queue_mu) { return stopping || !queue.empty(); });
          }
        }
      }
      // Nothing may escape: an exception here (out of memory, a throwing
      // source or callback past the places that turn them into errors) would
      // end the process. The snapshot is only ever replaced whole, so the
      // current one keeps serving; a resync then reloads every source, so a
      // change whose handling failed is not lost.
      try {
        if (resync_now) {
          resync();
        } else {
          task();
        }
      } catch (...) {
        after_update_failure();
      }
    }
  }

  // Schedules a resync with backoff; never throws.
  void after_update_failure() noexcept {
    const std::chrono::milliseconds delay = backoff(std::chrono::milliseconds(10), resync_failures);
    ++resync_failures;
    {
      detail::MutexLock lk(queue_mu);
      resync_at = std::chrono::steady_clock::now() + delay;
    }
    try {
      const Error error = current_exception_error("on the update thread");
      log(LogLevel::kError, error.to_string() + "; every source is reloaded in " +
                                std::to_string(delay.count()) +
                                " ms; the current configuration keeps serving");
    } catch (...) {  // out of memory even for the message: the resync still comes
    }
  }

  // Marks every source of every config due now and reloads them (identical
  // content publishes nothing).
  void resync() {
    std::vector<std::shared_ptr<Entry>> all;
    {
      std::shared_lock<std::shared_mutex> lk(entries_mu);
      for (const auto& [name, e] : entries) {
        all.push_back(e);
      }
    }
    const auto now = std::chrono::steady_clock::now();
    for (const auto& e : all) {
      for (auto& s : e->sources) {
        s->pending = true;
        s->first_signal = now - s->source->debounce().max_wait;
        s->last_signal = now - s->source->debounce().quiet;
      }
    }
    for (const auto& e : all) {
      if (!e->sources.empty()) {
        source_timer(e->name, e->sources.front()->id);
      }
    }
    resync_failures = 0;
  }

  // The log callback, shielded: a failing log sink must not stop updates.
  void log(LogLevel level, std::string_view message) noexcept {
    try {
      options.log(level, message);
    } catch (...) {
    }
  }

  // Queues `fn` for the update thread (dropped once shutting down).
  void post(std::function<void()> fn) {
    {
      detail::MutexLock lk(queue_mu);
      if (stopping) {
        return;
      }
      queue.push_back(std::move(fn));
    }
    queue_cv.notify_one();
  }

  // Runs `fn` on the update thread at `when` (the debounce timers).
  void post_at(std::chrono::steady_clock::time_point when, std::function<void()> fn) {
    {
      detail::MutexLock lk(queue_mu);
      if (stopping) {
        return;
      }
      timers.emplace(when, std::move(fn));
    }
    queue_cv.notify_one();
  }

  // Runs `fn` on the update thread and waits for its result.
  Status run_sync(std::function<Status()> fn) {
    if (std::this_thread::get_id() == update_thread_id.load()) {
      return Error(ErrorCode::kInternal,
                   "a mutating ConfigManager call was made on its update thread (from a "
                   "validator or parser); it would deadlock");
    }
    auto task = std::make_shared<std::packaged_task<Status()>>(std::move(fn));
    std::future<Status> result = task->get_future();
    {
      detail::MutexLock lk(queue_mu);
      if (stopping) {
        return Error(ErrorCode::kCancelled, "the ConfigManager is shutting down");
      }
      queue.emplace_back([task] { (*task)(); });
    }
    queue_cv.notify_one();
    return result.get();
  }

  std::shared_ptr<Entry> find_entry(std::string_view name) const {
    std::shared_lock<std::shared_mutex> lk(entries_mu);
    auto it = entries.find(name);
    return it == entries.end() ? nullptr : it->second;
  }

  static Error not_found(std::string_view name) {
    return Error(ErrorCode::kNotFound, "no config named \"" + std::string(name) + "\"");
  }

  static std::shared_ptr<const Layer> prepare_layer(Layer layer) {
    stamp_origins(layer.data, Origin::named(layer.name));
    return std::make_shared<const Layer>(std::move(layer));
  }

  // Builds a candidate from `layers` aside and publishes it, or leaves
  // everything as it was and returns why not: a validator, parser or
  // allocation that throws refuses the candidate like a failed validation.
  Status rebuild(Entry& e, std::vector<std::shared_ptr<const Layer>> layers) {
    try {
      return rebuild_or_throw(e, std::move(layers));
    } catch (...) {
      return refuse(e, current_exception_error("while building the new configuration"));
    }
  }

  Status refuse(Entry& e, Error error) {
    SnapshotPtr old = e.cell->load();
    {
      detail::MutexLock lk(e.stats_mu);
      ++e.failures;
      e.last_error = error;
    }
    log(LogLevel::kError, "config \"" + e.name + "\": update refused, generation " +
                              std::to_string(old ? old->generation() : 0) +
                              " keeps serving: " + error.to_string());
    return error;
  }

  Status rebuild_or_throw(Entry& e, std::vector<std::shared_ptr<const Layer>> layers) {
    SnapshotPtr old = e.cell->load();
    std::vector<const Layer*> ptrs;
    ptrs.reserve(layers.size());
    for (const auto& l : layers) {
      ptrs.push_back(l.get());
    }
    Value merged = merge_layers(std::span<const Layer* const>(ptrs), e.policies);

    // Restart-required fields keep their running value; the change waits.
    std::vector<Change> pending;
    if (old) {
      for (const KeyPath& p : e.restart_paths) {
        const Value* was = old->tree().find(p);
        const Value* want = merged.find(p);
        const bool differ = (was == nullptr) != (want == nullptr) ||
                            (was != nullptr && want != nullptr && !(*was == *want));
        if (!differ) {
          continue;
        }
        Change c;
        c.path = p;
        if (was != nullptr) {
          c.old_value = *was;
          c.old_source = was->origin().source();
        }
        if (want != nullptr) {
          c.new_value = *want;
          c.new_source = want->origin().source();
        }
        c.restart_required = true;
        if (e.sensitive.matches(p) || e.sensitive.covers_descendant(p)) {
          c.sensitive = true;
          if (c.old_value) {
            c.old_value = Value(std::string(kMaskedValue));
          }
          if (c.new_value) {
            c.new_value = Value(std::string(kMaskedValue));
          }
        }
        pending.push_back(std::move(c));
        if (was != nullptr) {
          merged.set(p, *was);
        } else {
          merged.erase(p);
        }
      }
    }

    BindReport report;
    std::shared_ptr<const void> typed;
    if (e.binding.bind) {
      typed = e.binding.bind(merged, BindOptions{e.strict}, report);
      if (typed == nullptr && report.ok()) {
        report.errors.emplace_back(ErrorCode::kInternal, "binding produced no object");
      }
    }
    if (!report.ok()) {
      return refuse(e, report.status().error());
    }
    for (const Error& w : report.warnings) {
      const bool known = old && std::any_of(old->warnings().begin(), old->warnings().end(),
                                            [&](const Error& ow) { return ow.path() == w.path(); });
      if (!known) {
        log(LogLevel::kWarning, "config \"" + e.name + "\": " + w.to_string());
      }
    }

    Snapshot::Parts parts;
    parts.config_name = e.name;
    parts.generation = old ? old->generation() + 1 : 1;
    parts.tree = std::move(merged);
    parts.layers = layers;
    parts.typed = std::move(typed);
    parts.type = e.binding.type;
    parts.sensitive = e.sensitive;
    parts.warnings = std::move(report.warnings);
    parts.pending_restart = std::move(pending);
    parts.published_at = std::chrono::system_clock::now();
    // The last step that can throw; from here on nothing allocates, so the
    // layers and the snapshot change together or not at all.
    auto snapshot = std::make_shared<const Snapshot>(std::move(parts));
    e.layers = std::move(layers);
    e.cell->publish(std::move(snapshot));
    {
      detail::MutexLock lk(e.stats_mu);
      ++e.publishes;
      e.last_error.reset();
    }
    mark_dirty(e);
    return ok_status();
  }

  // Which layers each source is about to have, for sources whose new layers
  // are in the batch being applied (the others have their live layer_names).
  using PendingNames =
      std::vector<std::pair<const Entry::SourceSlot*, const std::vector<std::string>*>>;

  // Puts `layers` in the order a fresh load of the same sources gives:
  // registration layers, then each source's layers in the order sources
  // were added and, within a source, in the order its load returned them (a
  // conf.d directory: lexical), then layers set by update()/apply() in the
  // order they came. merge_layers() sorts by priority, stably, so this order
  // decides between equal priorities. Without it a file added to a conf.d
  // directory later would win over files that sort after it.
  static void canonical_order(const Entry& e, std::vector<std::shared_ptr<const Layer>>& layers,
                              const PendingNames& pending) {
    struct Rank {
      int group = 0;
      std::size_t source = 0;
      std::size_t position = 0;
    };
    std::unordered_map<std::string_view, Rank> ranks;
    auto rank_source = [&](std::size_t index, const std::vector<std::string>& names) {
      for (std::size_t j = 0; j < names.size(); ++j) {
        ranks[names[j]] = Rank{1, index, j};
      }
    };
    for (std::size_t i = 0; i < e.sources.size(); ++i) {
      const auto* slot = e.sources[i].get();
      auto p = std::find_if(pending.begin(), pending.end(),
                            [&](const auto& entry) { return entry.first == slot; });
      rank_source(i, p == pending.end() ? slot->layer_names : *p->second);
    }
    // (No structured binding: clang 14, the fuzz build's compiler, cannot
    // capture one in a lambda.)
    for (const auto& entry : pending) {
      const bool listed = std::any_of(e.sources.begin(), e.sources.end(),
                                      [&](const auto& s) { return s.get() == entry.first; });
      if (!listed) {
        rank_source(e.sources.size(), *entry.second);  // being added: after every other source
      }
    }
    std::vector<std::pair<Rank, std::size_t>> keyed;
    keyed.reserve(layers.size());
    for (std::size_t i = 0; i < layers.size(); ++i) {
      auto it = ranks.find(layers[i]->name);
      Rank r = it != ranks.end() ? it->second
                                 : Rank{e.base_layers.count(layers[i]->name) != 0 ? 0 : 2, 0, i};
      keyed.emplace_back(r, i);
    }
    std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
      return std::tie(a.first.group, a.first.source, a.first.position) <
             std::tie(b.first.group, b.first.source, b.first.position);
    });
    std::vector<std::shared_ptr<const Layer>> sorted;
    sorted.reserve(layers.size());
    for (const auto& [rank, i] : keyed) {
      sorted.push_back(std::move(layers[i]));
    }
    layers = std::move(sorted);
  }

  // Applies a batch to a copy of e's layers; publishes only if something changed.
  Status apply_batch(Entry& e, LayerBatch batch, const PendingNames& pending = {}) {
    std::vector<std::shared_ptr<const Layer>> layers = e.layers;
    bool changed = false;
    if (!batch.remove.empty()) {
      std::unordered_set<std::string_view> gone(batch.remove.begin(), batch.remove.end());
      const std::size_t before = layers.size();
      std::erase_if(layers, [&](const auto& l) { return gone.count(l->name) != 0; });
      changed = layers.size() != before;
    }
    // Name -> position: a batch of many layers over a stack of many stays linear.
    std::unordered_map<std::string_view, std::size_t> index;
    index.reserve(layers.size());
    for (std::size_t i = 0; i < layers.size(); ++i) {
      index.emplace(layers[i]->name, i);
    }
    for (Layer& layer : batch.set) {
      auto found = index.find(layer.name);
      auto it = found == index.end() ? layers.end()
                                     : layers.begin() + static_cast<std::ptrdiff_t>(found->second);
      if (it != layers.end()) {
        // Identical content publishes nothing: same version (a content hash,
        // a revision) or, for unversioned layers, the same tree.
        if ((*it)->priority == layer.priority && (*it)->version == layer.version &&
            (!layer.version.empty() || (*it)->data == layer.data)) {
          continue;
        }
        *it = prepare_layer(std::move(layer));
      } else {
        layers.push_back(prepare_layer(std::move(layer)));
        index.emplace(layers.back()->name, layers.size() - 1);
      }
      changed = true;
    }
    std::vector<const Layer*> before;
    before.reserve(layers.size());
    for (const auto& l : layers) {
      before.push_back(l.get());
    }
    canonical_order(e, layers, pending);
    for (std::size_t i = 0; i < layers.size() && !changed; ++i) {
      changed = layers[i].get() != before[i];
    }
    if (!changed) {
      return ok_status();
    }
    return rebuild(e, std::move(layers));
  }

  // ---- sources (update thread) ---------------------------------------------

  using SourceSlot = Entry::SourceSlot;

  static SourceSlot* find_slot(Entry& e, std::uint64_t id) {
    for (auto& s : e.sources) {
      if (s->id == id) {
        return s.get();
      }
    }
    return nullptr;
  }

  void refresh_source_status(Entry& e) {
    std::vector<SourceStatus> all;
    std::unordered_map<std::string_view, const Layer*> live;
    live.reserve(e.layers.size());
    for (const auto& l : e.layers) {
      live.emplace(l->name, l.get());
    }
    for (const auto& s : e.sources) {
      SourceStatus st;
      st.name = s->source->name();
      st.state = s->state;
      st.last_error = s->last_error;
      st.loads = s->loads;
      st.signals = s->signals;
      for (const std::string& n : s->layer_names) {
        if (auto it = live.find(n); it != live.end()) {
          st.layers.push_back(LayerVersion{n, it->second->priority, it->second->version});
        }
      }
      all.push_back(std::move(st));
    }
    detail::MutexLock lk(e.stats_mu);
    e.source_status = std::move(all);
  }

  // A source's state change, recorded at once and announced (log, event)
  // after status() has been refreshed once for the whole round.
  struct Transition {
    SourceSlot* slot;
    SourceState state;
    std::optional<Error> error;
    bool changed;
  };

  static void record(SourceSlot& s, SourceState state, std::optional<Error> error,
                     std::vector<Transition>& out) {
    const bool changed = s.state != state;
    s.state = state;
    s.last_error = error;
    out.push_back(Transition{&s, state, std::move(error), changed});
  }

  void announce(Entry& e, std::vector<Transition>& transitions) {
    refresh_source_status(e);
    SnapshotPtr current = e.cell->load();
    const std::uint64_t generation = current ? current->generation() : 0;
    for (Transition& t : transitions) {
      if (t.error) {
        log(t.state == SourceState::kMissing || t.state == SourceState::kStale ? LogLevel::kWarning
                                                                               : LogLevel::kError,
            "config \"" + e.name + "\": source " + t.slot->source->name() + " is " +
                std::string(source_state_name(t.state)) + ": " + t.error->to_string() +
                (t.error->code() == ErrorCode::kUnavailable && t.state == SourceState::kError
                     ? "; retrying"
                     : "") +
                "; generation " + std::to_string(generation) + " keeps serving");
      }
      if ((t.changed || t.error) && options.on_source_event) {
        try {
          options.on_source_event(
              SourceEvent{e.name, t.slot->source->name(), t.state, std::move(t.error), generation});
        } catch (...) {
          log(LogLevel::kWarning, current_exception_error("from on_source_event").to_string());
        }
      }
    }
  }

  // The batch that makes `s`'s layers `load.layers`.
  static LayerBatch batch_for(const SourceSlot& s, const SourceLoad& load) {
    LayerBatch batch;
    batch.set = load.layers;
    for (const std::string& old : s.layer_names) {
      const bool kept = std::any_of(load.layers.begin(), load.layers.end(),
                                    [&](const Layer& l) { return l.name == old; });
      if (!kept) {
        batch.remove.push_back(old);
      }
    }
    return batch;
  }

  static std::vector<std::string> names_of(const SourceLoad& load) {
    std::vector<std::string> names;
    for (const Layer& l : load.layers) {
      names.push_back(l.name);
    }
    return names;
  }

  // A watcher said a source may have changed (on its thread): debounce on ours.
  void signal_source(const std::string& config, std::uint64_t id) {
    post([this, config, id] {
      std::shared_ptr<Entry> e = find_entry(config);
      SourceSlot* s = e ? find_slot(*e, id) : nullptr;
      if (s == nullptr) {
        return;
      }
      const auto now = std::chrono::steady_clock::now();
      ++s->signals;
      s->last_signal = now;
      if (!s->pending) {
        s->first_signal = now;
        post_at(now + s->source->debounce().quiet,
                [this, config, id] { source_timer(config, id); });
        s->pending = true;  // after post_at: if that throws, the next signal retries
      }
    });
  }

  static std::chrono::steady_clock::time_point due_time(const SourceSlot& s) {
    const Debounce d = s.source->debounce();
    return std::min(s.last_signal + d.quiet, s.first_signal + d.max_wait);
  }

  // Busy sources wait for their writer, up to max_wait after the first signal.
  static bool held(const SourceSlot& s, std::chrono::steady_clock::time_point now) {
    return now < s.first_signal + s.source->debounce().max_wait && s.source->busy();
  }

  void source_timer(const std::string& config, std::uint64_t id) {
    std::shared_ptr<Entry> e = find_entry(config);
    SourceSlot* s = e ? find_slot(*e, id) : nullptr;
    if (s == nullptr || !s->pending) {
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < due_time(*s)) {
      post_at(due_time(*s), [this, config, id] { source_timer(config, id); });
      return;
    }
    if (held(*s, now)) {
      // A new file is still being written: look again after a quiet period
      // (its IN_CLOSE_WRITE also signals), but never past max_wait.
      const Debounce d = s->source->debounce();
      const auto next = std::min(now + std::max(d.quiet, std::chrono::milliseconds(10)),
                                 s->first_signal + d.max_wait);
      post_at(next, [this, config, id] { source_timer(config, id); });
      return;
    }
    // Every source of this config that is due reloads now, into one publish.
    // "Due" includes sources due within a short window: changes made together
    // to several sources (a file and an env var) end their quiet periods
    // microseconds apart, and should still publish once.
    constexpr std::chrono::milliseconds kCoalesceWindow{10};
    std::vector<SourceSlot*> due;
    for (auto& other : e->sources) {
      if (other->pending && due_time(*other) <= now + kCoalesceWindow && !held(*other, now)) {
        other->pending = false;
        due.push_back(other.get());
      }
    }
    reload_sources(*e, due);
  }

  // A source's newest load, waiting to go live.
  struct Ready {
    SourceSlot* slot;
    SourceLoad load;
    bool retried = false;  // a load refused earlier, tried again with this round
  };

  void reload_sources(Entry& e, const std::vector<SourceSlot*>& due) {
    std::vector<Ready> ready;
    std::vector<Transition> transitions;
    for (SourceSlot* s : due) {
      ++s->loads;
      Result<SourceLoad> r = guarded_load(*s->source);
      s->refused.reset();  // whatever it was, the newest load supersedes it
      if (!r) {
        // Keep the last good layers; a vanished required file is "missing".
        const SourceState state =
            r.error().code() == ErrorCode::kNotFound ? SourceState::kMissing : SourceState::kError;
        record(*s, state, std::move(r).error(), transitions);
        continue;
      }
      if (r->state == SourceState::kMissing) {
        record(*s, SourceState::kMissing, std::nullopt, transitions);
        continue;
      }
      if (r->state == SourceState::kStale && r->layers.empty()) {
        // Unreachable: the last good layers keep serving (BEHAVIOUR 43).
        record(*s, SourceState::kStale, std::move(r->problem), transitions);
        continue;
      }
      // A stale source may still hand over the newest state it knows (a
      // remote mirror that was current when the connection dropped).
      ready.push_back(Ready{s, std::move(*r)});
    }
    if (!ready.empty()) {
      // Sources refused earlier are tried again with these changes: a change
      // elsewhere (max raised in the environment) can make them valid (min
      // in a file), and a fresh load of the same sources would accept both.
      for (auto& other : e.sources) {
        const bool due_now = std::find(due.begin(), due.end(), other.get()) != due.end();
        // Not one with a newer change on its way: its reload brings that.
        if (!due_now && other->refused && !other->pending) {
          ready.push_back(Ready{other.get(), *other->refused, true});
        }
      }
      apply_ready(e, ready, transitions);
    }
    after_round(e, transitions);
  }

  // Makes the ready loads live: all together if they bind (one publish), or
  // else source by source so the good ones still go live and each bad one is
  // named (its load kept in `refused` for the next round).
  void apply_ready(Entry& e, std::vector<Ready>& ready, std::vector<Transition>& transitions) {
    auto accept = [&](Ready& r) {
      r.slot->layer_names = names_of(r.load);
      r.slot->refused.reset();
      record(*r.slot, r.load.state, std::move(r.load.problem), transitions);
    };
    auto reject = [&](Ready& r, const Error& error) {
      const bool same =
          r.retried && r.slot->last_error && r.slot->last_error->to_string() == error.to_string();
      r.slot->refused = r.load;
      if (!same) {  // a retry refused for the same reason again is no news
        record(*r.slot, SourceState::kError, error, transitions);
      }
    };
    {
      LayerBatch combined;
      PendingNames names;
      std::vector<std::vector<std::string>> keep;
      keep.reserve(ready.size());
      for (const Ready& r : ready) {
        LayerBatch b = batch_for(*r.slot, r.load);
        combined.set.insert(combined.set.end(), b.set.begin(), b.set.end());
        combined.remove.insert(combined.remove.end(), b.remove.begin(), b.remove.end());
        keep.push_back(names_of(r.load));
        names.emplace_back(r.slot, &keep.back());
      }
      Status st = apply_batch(e, std::move(combined), names);
      if (st.ok()) {
        for (Ready& r : ready) {
          accept(r);
        }
        return;
      }
      if (ready.size() == 1) {
        reject(ready[0], st.error());
        return;
      }
    }
    // One by one, in source order; a pass that made one live may have made
    // another valid, so go round again until a pass changes nothing.
    std::sort(ready.begin(), ready.end(), [&](const Ready& a, const Ready& b) {
      return slot_index(e, a.slot) < slot_index(e, b.slot);
    });
    std::vector<Ready*> left;
    for (Ready& r : ready) {
      left.push_back(&r);
    }
    std::vector<std::optional<Error>> why(ready.size());
    bool progress = true;
    while (progress && !left.empty()) {
      progress = false;
      for (auto it = left.begin(); it != left.end();) {
        Ready& r = **it;
        const std::vector<std::string> names = names_of(r.load);
        Status one = apply_batch(e, batch_for(*r.slot, r.load), {{r.slot, &names}});
        if (one.ok()) {
          accept(r);
          it = left.erase(it);
          progress = true;
        } else {
          why[static_cast<std::size_t>(&r - ready.data())] = one.error();
          ++it;
        }
      }
    }
    for (Ready* r : left) {
      reject(*r, *why[static_cast<std::size_t>(r - ready.data())]);
    }
  }

  static std::size_t slot_index(const Entry& e, const SourceSlot* slot) {
    for (std::size_t i = 0; i < e.sources.size(); ++i) {
      if (e.sources[i].get() == slot) {
        return i;
      }
    }
    return e.sources.size();
  }

  // Retries, then status and announcements, after a round of loads.
  void after_round(Entry& e, std::vector<Transition>& transitions) {
    for (const Transition& t : transitions) {
      if (t.state == SourceState::kError && t.error && t.error->code() == ErrorCode::kUnavailable) {
        schedule_retry(e, *t.slot);
      } else if (t.state == SourceState::kOk) {
        t.slot->retries = 0;
        ++t.slot->retry_token;  // cancels a retry still scheduled
      }
    }
    announce(e, transitions);
  }

  // After a publish that no source made (update(), apply()): sources refused
  // earlier are loaded again, since the new state may make them valid.
  void retry_refused(Entry& e) {
    const auto now = std::chrono::steady_clock::now();
    bool any = false;
    for (auto& s : e.sources) {
      if (s->refused && !s->pending) {
        s->pending = true;
        s->first_signal = now - s->source->debounce().max_wait;
        s->last_signal = now - s->source->debounce().quiet;
        any = true;
      }
    }
    for (auto& s : e.sources) {
      if (any && s->refused) {
        post([this, config = e.name, id = s->id] { source_timer(config, id); });
        break;  // source_timer reloads every due source of the config
      }
    }
  }

  // A transient failure (EIO, out of memory): reload the source again after a
  // backoff even though nothing signals a change (nothing on disk changed).
  void schedule_retry(Entry& e, SourceSlot& s) {
    const std::chrono::milliseconds delay = backoff(s.source->debounce().quiet, s.retries);
    ++s.retries;
    const std::uint64_t token = ++s.retry_token;
    post_at(std::chrono::steady_clock::now() + delay, [this, config = e.name, id = s.id, token] {
      std::shared_ptr<Entry> entry = find_entry(config);
      SourceSlot* slot = entry ? find_slot(*entry, id) : nullptr;
      if (slot == nullptr || slot->retry_token != token || slot->pending) {
        return;  // gone, recovered, or a reload is coming anyway
      }
      const auto now = std::chrono::steady_clock::now();
      slot->pending = true;
      slot->first_signal = now - slot->source->debounce().max_wait;
      slot->last_signal = now - slot->source->debounce().quiet;
      source_timer(config, id);
    });
  }

  // ---- dispatch thread -----------------------------------------------------

  void mark_dirty(Entry& e) noexcept {
    {
      detail::MutexLock lk(dirty_mu);
      try {
        dirty.insert(e.name);
      } catch (...) {  // out of memory: have the dispatcher look at every config
        dirty_all = true;
      }
    }
    dirty_cv.notify_one();
  }

  void dispatch_loop() {
    while (true) {
      std::unordered_set<std::string> batch;
      bool all = false;
      {
        detail::MutexLock lk(dirty_mu);
        lk.wait(dirty_cv, [this]() LIVECONF_REQUIRES(dirty_mu) {
          return dispatch_stopping || !dirty.empty() || dirty_all;
        });
        if (dispatch_stopping) {
          return;
        }
        batch.swap(dirty);
        all = std::exchange(dirty_all, false);
      }
      try {
        std::vector<std::shared_ptr<Entry>> targets;
        if (all) {
          std::shared_lock<std::shared_mutex> lk(entries_mu);
          for (const auto& [name, e] : entries) {
            targets.push_back(e);
          }
        } else {
          for (const std::string& name : batch) {
            if (std::shared_ptr<Entry> e = find_entry(name)) {
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
        log(LogLevel::kError, "a subscriber notification failed (out of memory?); retrying");
        detail::MutexLock lk(dirty_mu);
        dirty_all = true;
        lk.wait_for(dirty_cv, std::chrono::milliseconds(100),
                    [this]() LIVECONF_REQUIRES(dirty_mu) { return dispatch_stopping; });
      }
    }
  }

  void dispatch(Entry& e) {
    SnapshotPtr current = e.cell->load();
    std::vector<std::shared_ptr<detail::SubscriptionState>> subs;
    {
      detail::MutexLock lk(e.subs_mu);
      std::erase_if(e.subs, [](const auto& s) { return !s->active.load(); });
      subs = e.subs;
    }
    SnapshotPtr computed_from;
    ChangeSet full;
    for (const auto& s : subs) {
      if (!s->active.load(std::memory_order_acquire) || s->last == current) {
        continue;
      }
      if (s->last != computed_from) {
        DiffOptions opts;
        opts.sensitive = &current->sensitive();
        full = diff(s->last->tree(), current->tree(), opts);
        for (const Change& c : current->pending_restart()) {
          const auto& before = s->last->pending_restart();
          const bool seen = std::any_of(before.begin(), before.end(), [&](const Change& b) {
            return b.path == c.path && b.new_value == c.new_value;
          });
          if (!seen) {
            full.push_back(c);
          }
        }
        computed_from = s->last;
      }
      ChangeSet mine = s->prefix.empty() ? full : full.filter(s->prefix);
      SnapshotPtr old = std::move(s->last);
      s->last = current;
      if (mine.empty()) {
        continue;
      }
      deliver(e, *s, old, current, mine);
    }
  }

  void deliver(Entry& e, detail::SubscriptionState& s, const SnapshotPtr& old,
               const SnapshotPtr& current, const ChangeSet& changes) {
    std::lock_guard<std::mutex> call(s.call_mu);
    if (!s.active.load(std::memory_order_acquire)) {
      return;
    }
    s.calling.store(std::this_thread::get_id(), std::memory_order_release);
    std::string failure;
    try {
      s.fn(old, current, changes);
    } catch (const std::exception& ex) {
      failure = ex.what();
    } catch (...) {
      failure = "unknown exception";
    }
    s.calling.store(std::thread::id(), std::memory_order_release);
    if (!failure.empty()) {
      {
        detail::MutexLock lk(e.stats_mu);
        ++e.callback_errors;
      }
      log(LogLevel::kWarning,
          "config \"" + e.name +
              "\": a subscriber threw (other subscribers still ran): " + failure);
    }
  }

  ConfigStatus status_of(const Entry& e) const {
    ConfigStatus st;
    st.name = e.name;
    st.type_name = e.binding.type_name;
    if (SnapshotPtr s = e.cell->load()) {
      st.generation = s->generation();
      st.layers = s->layer_versions();
    }
    detail::MutexLock lk(e.stats_mu);
    st.publishes = e.publishes;
    st.failures = e.failures;
    st.callback_errors = e.callback_errors;
    st.last_error = e.last_error;
    st.sources = e.source_status;
    return st;
  }

  ManagerOptions options;

  // A reader-writer lock: lookups are frequent, registrations rare. Not annotated:
  // our Mutex wrapper has no shared mode, and the two uses are three lines each.
  mutable std::shared_mutex entries_mu;
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> entries;

  detail::Mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<std::function<void()>> queue LIVECONF_GUARDED_BY(queue_mu);
  bool stopping LIVECONF_GUARDED_BY(queue_mu) = false;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> timers
      LIVECONF_GUARDED_BY(queue_mu);
  // After a failure on the update thread: when every source is reloaded.
  std::optional<std::chrono::steady_clock::time_point> resync_at LIVECONF_GUARDED_BY(queue_mu);
  unsigned resync_failures = 0;  // update thread only
  std::atomic<std::uint64_t> next_source_id{1};
  std::atomic<std::thread::id> update_thread_id{};
  std::thread update_thread;

  detail::Mutex dirty_mu;
  std::condition_variable dirty_cv;
  std::unordered_set<std::string> dirty LIVECONF_GUARDED_BY(dirty_mu);
  bool dispatch_stopping LIVECONF_GUARDED_BY(dirty_mu) = false;
  bool dirty_all LIVECONF_GUARDED_BY(dirty_mu) = false;
  std::thread dispatch_thread;
};

ConfigManager::ConfigManager() : ConfigManager(ManagerOptions{}) {}
ConfigManager::ConfigManager(ManagerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
ConfigManager::~ConfigManager() = default;

Status ConfigManager::register_impl(std::string name, detail::TypeBinding binding,
                                    RegisterOptions options) {
  return impl_->run_sync([&]() -> Status {
    if (impl_->find_entry(name)) {
      return Error(ErrorCode::kValidation, "a config named \"" + name + "\" is already registered");
    }
    auto e = std::make_shared<Impl::Entry>();
    e->name = name;
    e->strict = options.strict;
    if (binding.schema != nullptr) {
      e->policies = binding.schema->merge_policies();
      e->sensitive = binding.schema->sensitive_paths();
      for (KeyPath& p : binding.schema->restart_required_paths()) {
        // TODO(liveconf): restart pinning inside collections ("a.*.b") needs per-element
        // matching; such fields are applied hot for now (documented in docs/architecture.md).
        if (!has_wildcard(p)) {
          e->restart_paths.push_back(std::move(p));
        }
      }
    }
    for (KeyPath& p : options.sensitive) {
      e->sensitive.add(std::move(p));
    }
    std::vector<std::shared_ptr<const Layer>> layers;
    e->base_layers.emplace(kDefaultsLayer);
    for (const Layer& l : options.layers) {
      e->base_layers.insert(l.name);
    }
    if (!binding.defaults.is_null()) {
      layers.push_back(Impl::prepare_layer(
          Layer{std::string(kDefaultsLayer), kDefaultsPriority, binding.defaults, "defaults"}));
    }
    for (Layer& l : options.layers) {
      layers.push_back(Impl::prepare_layer(std::move(l)));
    }
    e->binding = std::move(binding);
    Status st = impl_->rebuild(*e, std::move(layers));
    if (!st.ok()) {
      return st;
    }
    std::unique_lock<std::shared_mutex> lk(impl_->entries_mu);
    impl_->entries.emplace(name, std::move(e));
    return ok_status();
  });
}

Status ConfigManager::register_untyped(std::string name, RegisterOptions options) {
  return register_impl(std::move(name), detail::TypeBinding{}, std::move(options));
}

Status ConfigManager::register_schema(std::string name, std::shared_ptr<const Schema> schema,
                                      Value defaults, RegisterOptions options) {
  if (!schema) {
    return Error(ErrorCode::kValidation, "register_schema needs a schema");
  }
  detail::TypeBinding b;
  b.type = TypeId::of<Value>();
  b.schema = schema.get();
  b.type_name = schema->type_name();
  b.defaults = std::move(defaults);
  b.bind = [schema](const Value& tree, const BindOptions& opts,
                    BindReport& report) -> std::shared_ptr<const void> {
    detail::BindContext ctx(opts);
    auto out = std::make_shared<Value>(Value::object());
    out->set_origin(tree.origin());
    (void)schema->decode_into(tree, out.get(), ctx);
    report = ctx.report();
    if (!report.ok()) {
      return nullptr;
    }
    return out;
  };
  b.owner = std::move(schema);
  return register_impl(std::move(name), std::move(b), std::move(options));
}

Result<SnapshotPtr> ConfigManager::snapshot(std::string_view name) const {
  std::shared_ptr<Impl::Entry> e = impl_->find_entry(name);
  if (!e) {
    return Impl::not_found(name);
  }
  return e->cell->load();
}

Result<std::shared_ptr<const detail::SnapshotCell>> ConfigManager::cell_for(std::string_view name,
                                                                            TypeId type) const {
  std::shared_ptr<Impl::Entry> e = impl_->find_entry(name);
  if (!e) {
    return Impl::not_found(name);
  }
  if (!(e->binding.type == type)) {
    return Error(ErrorCode::kType,
                 "config \"" + std::string(name) + "\" is not of the requested type");
  }
  return std::shared_ptr<const detail::SnapshotCell>(e->cell);
}

Status ConfigManager::update(std::string_view name, Value data, UpdateOptions options) {
  return impl_->run_sync([&]() -> Status {
    std::shared_ptr<Impl::Entry> e = impl_->find_entry(name);
    if (!e) {
      return Impl::not_found(name);
    }
    Layer layer{std::string(kOverrideLayer), kOverridePriority, std::move(data), ""};
    auto it = std::find_if(e->layers.begin(), e->layers.end(),
                           [](const auto& l) { return l->name == kOverrideLayer; });
    if (!options.replace && it != e->layers.end()) {
      std::vector<Layer> both = {**it, layer};
      both[1].priority = both[0].priority;
      stamp_origins(both[1].data, Origin::named(std::string(kOverrideLayer)));
      layer.data = merge_layers(std::span<const Layer>(both), MergePolicies{});
    }
    layer.version = std::to_string(e->override_counter + 1);
    LayerBatch batch;
    batch.set.push_back(std::move(layer));
    Status st = impl_->apply_batch(*e, std::move(batch));
    if (st.ok()) {
      ++e->override_counter;
      impl_->retry_refused(*e);
    }
    return st;
  });
}

Status ConfigManager::apply(std::string_view name, LayerBatch batch) {
  return impl_->run_sync([&]() -> Status {
    std::shared_ptr<Impl::Entry> e = impl_->find_entry(name);
    if (!e) {
      return Impl::not_found(name);
    }
    Status st = impl_->apply_batch(*e, std::move(batch));
    if (st.ok()) {
      impl_->retry_refused(*e);
    }
    return st;
  });
}

Status ConfigManager::set_layer(std::string_view name, Layer layer) {
  LayerBatch batch;
  batch.set.push_back(std::move(layer));
  return apply(name, std::move(batch));
}

Status ConfigManager::remove_layer(std::string_view name, std::string_view layer) {
  LayerBatch batch;
  batch.remove.emplace_back(layer);
  return apply(name, std::move(batch));
}

Result<Subscription> ConfigManager::subscribe(std::string_view name, KeyPath prefix, ChangeFn fn) {
  std::shared_ptr<Impl::Entry> e = impl_->find_entry(name);
  if (!e) {
    return Impl::not_found(name);
  }
  auto state = std::make_shared<detail::SubscriptionState>();
  state->prefix = std::move(prefix);
  state->fn = std::move(fn);
  {
    detail::MutexLock lk(e->subs_mu);
    // Start from the current snapshot: the first call reports the next change.
    state->last = e->cell->load();
    e->subs.push_back(state);
  }
  // A publish may have landed between load() and registration; let the
  // dispatcher compare (it skips subscribers already at the current snapshot).
  impl_->mark_dirty(*e);
  return Subscription(std::move(state));
}

Status ConfigManager::add_source(std::string_view name, std::unique_ptr<Source> source) {
  std::vector<std::unique_ptr<Source>> one;
  one.push_back(std::move(source));
  return add_sources(name, std::move(one));
}

Status ConfigManager::add_sources(std::string_view name,
                                  std::vector<std::unique_ptr<Source>> sources) {
  for (const auto& source : sources) {
    if (!source) {
      return Error(ErrorCode::kValidation, "add_source needs a source");
    }
  }
  // The config and the sources' names, checked on the update thread; again in
  // the last step, since the config may go or another source of that name
  // arrive while this thread waits.
  auto check = [&](const std::shared_ptr<Impl::Entry>& e) -> Status {
    if (!e) {
      return Impl::not_found(name);
    }
    for (std::size_t i = 0; i < sources.size(); ++i) {
      const std::string& n = sources[i]->name();
      const bool taken =
          std::any_of(e->sources.begin(), e->sources.end(),
                      [&](const auto& s) { return s->source->name() == n; }) ||
          std::any_of(sources.begin(), sources.begin() + static_cast<std::ptrdiff_t>(i),
                      [&](const auto& s) { return s->name() == n; });
      if (taken) {
        return Error(ErrorCode::kValidation,
                     "config \"" + e->name + "\" already has a source named " + n);
      }
    }
    return ok_status();
  };
  Status attached = impl_->run_sync([&]() -> Status {
    std::shared_ptr<Impl::Entry> e = impl_->find_entry(name);
    if (Status st = check(e); !st.ok()) {
      return st;
    }
    for (auto& source : sources) {
      if (Status st = source->attach(SourceContext{e->name, e->binding.schema}); !st.ok()) {
        return st;
      }
    }
    return ok_status();
  });
  if (!attached.ok()) {
    return attached;
  }
  // On this (the caller's) thread, not the update thread: a remote source
  // waits here for its first state (up to its initial timeout), while every
  // other config's updates and reloads go on. One after the other: the waits
  // add up only for sources that are all unreachable.
  for (auto& source : sources) {
    try {
      source->wait_ready();
    } catch (...) {
      return current_exception_error("while waiting for " + source->name());
    }
  }
  return impl_->run_sync([&]() -> Status {
    std::shared_ptr<Impl::Entry> e = impl_->find_entry(name);
    if (Status st = check(e); !st.ok()) {
      return st;
    }
    std::vector<std::unique_ptr<Impl::SourceSlot>> slots;
    for (auto& source : sources) {
      auto slot = std::make_unique<Impl::SourceSlot>();
      slot->id = impl_->next_source_id.fetch_add(1);
      slot->source = std::move(source);
      // Watch before the first load, so a change made during the load is not
      // missed: its signal queues behind this task and reloads (a no-op if
      // the bytes are the same).
      Result<WatchHandle> watch =
          slot->source->watch([impl = impl_.get(), config = e->name, id = slot->id] {
            impl->signal_source(config, id);
          });
      if (!watch) {
        return std::move(watch).error();  // `slots` (and their watches) go away
      }
      slot->watch = std::move(*watch);
      slots.push_back(std::move(slot));
    }
    // Load them all, then publish once: a fresh load. Adding them one by one
    // would bind intermediate states, and refuse a source that only the next
    // one makes valid.
    std::vector<SourceLoad> loads;
    for (auto& slot : slots) {
      slot->loads = 1;
      Result<SourceLoad> loaded = guarded_load(*slot->source);
      if (!loaded) {
        return std::move(loaded).error();
      }
      if (loaded->state == SourceState::kMissing || loaded->state == SourceState::kStale) {
        // An optional source that is not there (or, remote, not reachable
        // yet) contributes nothing until a later load succeeds.
        slot->state = loaded->state;
        slot->last_error = std::move(loaded->problem);
        loaded->layers.clear();
      }
      loads.push_back(std::move(*loaded));
    }
    const std::size_t first = e->sources.size();
    LayerBatch batch;
    std::vector<std::vector<std::string>> names;
    names.reserve(slots.size());
    Impl::PendingNames pending;
    for (std::size_t i = 0; i < slots.size(); ++i) {
      LayerBatch b = Impl::batch_for(*slots[i], loads[i]);
      batch.set.insert(batch.set.end(), b.set.begin(), b.set.end());
      names.push_back(Impl::names_of(loads[i]));
      pending.emplace_back(slots[i].get(), &names.back());
    }
    for (auto& slot : slots) {
      e->sources.push_back(std::move(slot));  // ranked in this order
    }
    Status st = impl_->apply_batch(*e, std::move(batch), pending);
    if (!st.ok()) {
      e->sources.erase(e->sources.begin() + static_cast<std::ptrdiff_t>(first), e->sources.end());
      return st;
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      e->sources[first + i]->layer_names = std::move(names[i]);
    }
    impl_->refresh_source_status(*e);
    impl_->retry_refused(*e);
    return ok_status();
  });
}

Status ConfigManager::reload(std::string_view name) {
  return impl_->run_sync([&]() -> Status {
    std::shared_ptr<Impl::Entry> e = impl_->find_entry(name);
    if (!e) {
      return Impl::not_found(name);
    }
    std::vector<Impl::SourceSlot*> all;
    for (auto& s : e->sources) {
      s->pending = false;  // this reload covers any signal waiting out its debounce
      all.push_back(s.get());
    }
    impl_->reload_sources(*e, all);
    for (const auto& s : e->sources) {
      if (s->state == SourceState::kError && s->last_error) {
        return *s->last_error;
      }
    }
    return ok_status();
  });
}

Status ConfigManager::remove_source(std::string_view name, std::string_view source) {
  return impl_->run_sync([&]() -> Status {
    std::shared_ptr<Impl::Entry> e = impl_->find_entry(name);
    if (!e) {
      return Impl::not_found(name);
    }
    auto it = std::find_if(e->sources.begin(), e->sources.end(),
                           [&](const auto& s) { return s->source->name() == source; });
    if (it == e->sources.end()) {
      return Error(ErrorCode::kNotFound,
                   "config \"" + e->name + "\" has no source named " + std::string(source));
    }
    (*it)->watch.cancel();
    LayerBatch batch;
    batch.remove = (*it)->layer_names;
    e->sources.erase(it);
    Status st = impl_->apply_batch(*e, std::move(batch));
    if (st.ok()) {
      impl_->retry_refused(*e);
    }
    impl_->refresh_source_status(*e);
    return st;
  });
}

Status ConfigManager::unregister(std::string_view name) {
  return impl_->run_sync([&]() -> Status {
    std::shared_ptr<Impl::Entry> e;
    {
      std::unique_lock<std::shared_mutex> lk(impl_->entries_mu);
      auto it = impl_->entries.find(name);
      if (it == impl_->entries.end()) {
        return Impl::not_found(name);
      }
      e = std::move(it->second);
      impl_->entries.erase(it);
    }
    for (auto& slot : e->sources) {
      slot->watch.cancel();
    }
    detail::MutexLock lk(e->subs_mu);
    for (const auto& s : e->subs) {
      s->active.store(false);
    }
    e->subs.clear();
    return ok_status();
  });
}

std::vector<ConfigStatus> ConfigManager::list() const {
  std::vector<std::shared_ptr<Impl::Entry>> all;
  {
    std::shared_lock<std::shared_mutex> lk(impl_->entries_mu);
    for (const auto& [name, e] : impl_->entries) {
      all.push_back(e);
    }
  }
  std::vector<ConfigStatus> out;
  out.reserve(all.size());
  for (const auto& e : all) {
    out.push_back(impl_->status_of(*e));
  }
  return out;
}

Result<ConfigStatus> ConfigManager::status(std::string_view name) const {
  std::shared_ptr<Impl::Entry> e = impl_->find_entry(name);
  if (!e) {
    return Impl::not_found(name);
  }
  return impl_->status_of(*e);
}

Result<std::string> ConfigManager::export_config(std::string_view name,
                                                 const ExportOptions& options) const {
  Result<SnapshotPtr> s = snapshot(name);
  if (!s) {
    return std::move(s).error();
  }
  const Format* format = find_format(options.format);
  if (format == nullptr || !format->can_emit()) {
    return Error(ErrorCode::kValidation,
                 "cannot export as \"" + options.format + "\" (use json, yaml or toml)");
  }
  EmitOptions emit;
  emit.indent = options.indent;
  return format->emit(options.reveal_secrets ? (*s)->tree() : (*s)->masked_tree(), emit);
}

Result<Explanation> ConfigManager::explain(std::string_view name, const KeyPath& path) const {
  Result<SnapshotPtr> s = snapshot(name);
  if (!s) {
    return std::move(s).error();
  }
  return (*s)->explain(path);
}

}  // namespace liveconf
