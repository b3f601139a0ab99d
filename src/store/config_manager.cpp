// ConfigManager: one update thread builds and publishes snapshots; one
// dispatch thread delivers diffs to subscribers. See docs/architecture.md.
#include <condition_variable>
#include <deque>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_set>

#include "liveconf/format.hpp"
#include "liveconf/store.hpp"

#include "store/mutex.hpp"
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

    mutable detail::Mutex stats_mu;
    std::uint64_t publishes LIVECONF_GUARDED_BY(stats_mu) = 0;
    std::uint64_t failures LIVECONF_GUARDED_BY(stats_mu) = 0;
    std::uint64_t callback_errors LIVECONF_GUARDED_BY(stats_mu) = 0;
    std::optional<Error> last_error LIVECONF_GUARDED_BY(stats_mu);

    detail::Mutex subs_mu;
    std::vector<std::shared_ptr<detail::SubscriptionState>> subs LIVECONF_GUARDED_BY(subs_mu);
  };

  explicit Impl(ManagerOptions opts) : options(std::move(opts)) {
    if (!options.log) {
      options.log = default_log;
    }
    update_thread = std::thread([this] { update_loop(); });
    dispatch_thread = std::thread([this] { dispatch_loop(); });
  }

  ~Impl() {
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
    while (true) {
      std::function<void()> task;
      {
        detail::MutexLock lk(queue_mu);
        lk.wait(queue_cv,
                [this]() LIVECONF_REQUIRES(queue_mu) { return stopping || !queue.empty(); });
        if (queue.empty()) {
          return;
        }
        task = std::move(queue.front());
        queue.pop_front();
      }
      task();
    }
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
  // everything as it was and returns why not.
  Status rebuild(Entry& e, std::vector<std::shared_ptr<const Layer>> layers) {
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
      Status st = report.status();
      {
        detail::MutexLock lk(e.stats_mu);
        ++e.failures;
        e.last_error = st.error();
      }
      options.log(LogLevel::kError, "config \"" + e.name + "\": update refused, generation " +
                                        std::to_string(old ? old->generation() : 0) +
                                        " keeps serving: " + st.error().to_string());
      return st;
    }
    for (const Error& w : report.warnings) {
      const bool known = old && std::any_of(old->warnings().begin(), old->warnings().end(),
                                            [&](const Error& ow) { return ow.path() == w.path(); });
      if (!known) {
        options.log(LogLevel::kWarning, "config \"" + e.name + "\": " + w.to_string());
      }
    }

    Snapshot::Parts parts;
    parts.config_name = e.name;
    parts.generation = old ? old->generation() + 1 : 1;
    parts.tree = std::move(merged);
    parts.layers = layers;
    parts.typed = std::move(typed);
    parts.type_tag = e.binding.tag;
    parts.sensitive = e.sensitive;
    parts.warnings = std::move(report.warnings);
    parts.pending_restart = std::move(pending);
    parts.published_at = std::chrono::system_clock::now();
    e.layers = std::move(layers);
    e.cell->publish(std::make_shared<const Snapshot>(std::move(parts)));
    {
      detail::MutexLock lk(e.stats_mu);
      ++e.publishes;
      e.last_error.reset();
    }
    mark_dirty(e);
    return ok_status();
  }

  // Applies a batch to a copy of e's layers; publishes only if something changed.
  Status apply_batch(Entry& e, LayerBatch batch) {
    std::vector<std::shared_ptr<const Layer>> layers = e.layers;
    bool changed = false;
    for (const std::string& name : batch.remove) {
      auto it = std::find_if(layers.begin(), layers.end(),
                             [&](const auto& l) { return l->name == name; });
      if (it != layers.end()) {
        layers.erase(it);
        changed = true;
      }
    }
    for (Layer& layer : batch.set) {
      auto it = std::find_if(layers.begin(), layers.end(),
                             [&](const auto& l) { return l->name == layer.name; });
      if (it != layers.end()) {
        if ((*it)->priority == layer.priority && (*it)->version == layer.version &&
            (*it)->data == layer.data) {
          continue;  // identical content: nothing to publish
        }
        *it = prepare_layer(std::move(layer));
      } else {
        layers.push_back(prepare_layer(std::move(layer)));
      }
      changed = true;
    }
    if (!changed) {
      return ok_status();
    }
    return rebuild(e, std::move(layers));
  }

  // ---- dispatch thread -----------------------------------------------------

  void mark_dirty(Entry& e) {
    {
      detail::MutexLock lk(dirty_mu);
      dirty.insert(e.name);
    }
    dirty_cv.notify_one();
  }

  void dispatch_loop() {
    while (true) {
      std::unordered_set<std::string> batch;
      {
        detail::MutexLock lk(dirty_mu);
        lk.wait(dirty_cv, [this]() LIVECONF_REQUIRES(dirty_mu) {
          return dispatch_stopping || !dirty.empty();
        });
        if (dispatch_stopping) {
          return;
        }
        batch.swap(dirty);
      }
      for (const std::string& name : batch) {
        if (std::shared_ptr<Entry> e = find_entry(name)) {
          dispatch(*e);
        }
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
      options.log(LogLevel::kWarning,
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
  std::atomic<std::thread::id> update_thread_id{};
  std::thread update_thread;

  detail::Mutex dirty_mu;
  std::condition_variable dirty_cv;
  std::unordered_set<std::string> dirty LIVECONF_GUARDED_BY(dirty_mu);
  bool dispatch_stopping LIVECONF_GUARDED_BY(dirty_mu) = false;
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
    std::vector<std::shared_ptr<const Layer>> layers;
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

Result<SnapshotPtr> ConfigManager::snapshot(std::string_view name) const {
  std::shared_ptr<Impl::Entry> e = impl_->find_entry(name);
  if (!e) {
    return Impl::not_found(name);
  }
  return e->cell->load();
}

Result<std::shared_ptr<const detail::SnapshotCell>> ConfigManager::cell_for(std::string_view name,
                                                                            const void* tag) const {
  std::shared_ptr<Impl::Entry> e = impl_->find_entry(name);
  if (!e) {
    return Impl::not_found(name);
  }
  if (e->binding.tag != tag) {
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
    return impl_->apply_batch(*e, std::move(batch));
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
