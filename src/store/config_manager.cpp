// ConfigManager, the facade: every public call finds its config in the
// registry and hands the work to one of the rooms:
//   update_executor   the update thread (queue, timers, recovery)
//   snapshot_builder  merge, bind, validate, publish (update thread)
//   source_scheduler  signals, debounce, reloads, retries (update thread)
//   dispatcher        the dispatch thread (diffs to subscribers)
// See docs/architecture.md.
#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <utility>

#include "liveconf/format.hpp"
#include "liveconf/store.hpp"

#include "base/exception_error.hpp"
#include "store/config_entry.hpp"
#include "store/dispatcher.hpp"
#include "store/snapshot_builder.hpp"
#include "store/source_scheduler.hpp"
#include "store/update_executor.hpp"

namespace liveconf {
namespace {

using detail::Entry;
using detail::EntryState;
using detail::UpdateThread;

bool has_wildcard(const KeyPath& p) {
  return std::any_of(p.segments().begin(), p.segments().end(),
                     [](const std::string& s) { return s == "*"; });
}

}  // namespace

struct ConfigManager::Impl {
  explicit Impl(ManagerOptions opts)
      : options(std::move(opts)),
        log(options.log),
        dispatcher(registry, log),
        builder(log, dispatcher, options.on_publish),
        scheduler(executor, registry, builder, log, options.on_source_event, options.on_reload),
        executor(
            options.clock, [this](UpdateThread& t) { scheduler.resync(t); },
            [this](std::chrono::milliseconds retry_in) {
              log(LogLevel::kError,
                  detail::current_exception_error("on the update thread").to_string() +
                      "; every source is reloaded in " + std::to_string(retry_in.count()) +
                      " ms; the current configuration keeps serving");
            }) {}

  ~Impl() {
    // Watches first: once cancelled, no watcher thread can post to us again.
    (void)executor.run_sync([this](UpdateThread& t) -> Status {
      for (const auto& e : registry.all()) {
        detail::SourceScheduler::stop_watching(t, *e);
      }
      return ok_status();
    });
    executor.stop();
    dispatcher.stop();
  }

  // Runs `fn(t, entry)` on the update thread for config `name`, or kNotFound.
  Status with_entry(std::string_view name, const std::function<Status(UpdateThread&, Entry&)>& fn) {
    return executor.run_sync([&](UpdateThread& t) -> Status {
      Result<std::shared_ptr<Entry>> e = registry.get(name);
      if (!e) {
        return std::move(e).error();
      }
      return fn(t, **e);
    });
  }

  ManagerOptions options;
  detail::ManagerLog log;
  detail::Registry registry;
  detail::Dispatcher dispatcher;
  detail::SnapshotBuilder builder;
  // Declared before the executor it posts to, so it outlives the update thread.
  detail::SourceScheduler scheduler;
  detail::UpdateExecutor executor;
};

ConfigManager::ConfigManager() : ConfigManager(ManagerOptions{}) {}
ConfigManager::ConfigManager(ManagerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
ConfigManager::~ConfigManager() = default;

Status ConfigManager::register_impl(std::string name, detail::TypeBinding binding,
                                    RegisterOptions options) {
  return impl_->executor.run_sync([&](UpdateThread& t) -> Status {
    if (impl_->registry.find(name)) {
      return Error(ErrorCode::kValidation, "a config named \"" + name + "\" is already registered");
    }
    auto e = std::make_shared<Entry>();
    if (options.first_generation == 0) {
      return Error(ErrorCode::kValidation,
                   "config \"" + name + "\": first_generation must be at least 1");
    }
    e->name = name;
    e->strict = options.strict;
    e->first_generation = options.first_generation;
    if (binding.schema != nullptr) {
      e->policies = std::make_shared<const MergePolicies>(binding.schema->merge_policies());
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
    EntryState& st = e->state.get(t);
    std::vector<std::shared_ptr<const Layer>> layers;
    st.base_layers.emplace(kDefaultsLayer);
    for (const Layer& l : options.layers) {
      st.base_layers.insert(l.name);
    }
    if (!binding.defaults.is_null()) {
      layers.push_back(detail::SnapshotBuilder::prepare_layer(
          Layer{std::string(kDefaultsLayer), kDefaultsPriority, binding.defaults, "defaults"}));
    }
    for (Layer& l : options.layers) {
      layers.push_back(detail::SnapshotBuilder::prepare_layer(std::move(l)));
    }
    e->binding = std::move(binding);
    if (Status st2 = impl_->builder.rebuild(t, *e, std::move(layers)); !st2.ok()) {
      return st2;
    }
    impl_->registry.insert(std::move(e));
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
  Result<std::shared_ptr<Entry>> e = impl_->registry.get(name);
  if (!e) {
    return std::move(e).error();
  }
  return (*e)->cell->load();
}

Result<std::shared_ptr<const detail::SnapshotCell>> ConfigManager::cell_for(std::string_view name,
                                                                            TypeId type) const {
  Result<std::shared_ptr<Entry>> e = impl_->registry.get(name);
  if (!e) {
    return std::move(e).error();
  }
  if (!((*e)->binding.type == type)) {
    return Error(ErrorCode::kType,
                 "config \"" + std::string(name) + "\" is not of the requested type");
  }
  return std::shared_ptr<const detail::SnapshotCell>((*e)->cell);
}

Status ConfigManager::pin(std::string_view name, std::vector<Layer> layers, PinOptions options) {
  return impl_->with_entry(name, [&](UpdateThread& t, Entry& e) -> Status {
    std::vector<std::shared_ptr<const Layer>> prepared;
    prepared.reserve(layers.size());
    for (Layer& l : layers) {
      prepared.push_back(detail::SnapshotBuilder::prepare_layer(std::move(l)));
    }
    PinStatus ps;
    ps.pinned_generation = options.pinned_generation;
    ps.since = std::chrono::system_clock::now();
    ps.reason = options.reason;
    if (options.ttl) {
      ps.expires = ps.since + *options.ttl;
    }
    if (Status st = impl_->builder.pin(t, e, std::move(prepared), std::move(ps)); !st.ok()) {
      return st;
    }
    if (options.rollback) {
      detail::MutexLock lk(e.stats_mu);
      ++e.stats.rollbacks.by_operator;
    }
    const std::uint64_t id = e.state.get(t).pin->id;
    const std::uint64_t served = e.cell->generation();
    impl_->log(LogLevel::kWarning,
               "config \"" + e.name + "\": pinned" +
                   (options.pinned_generation != 0 ? " to the content of generation " +
                                                         std::to_string(options.pinned_generation)
                                                   : std::string()) +
                   ", served as generation " + std::to_string(served) +
                   (options.reason.empty() ? std::string() : " (" + options.reason + ")") +
                   "; the sources' changes wait until unpinned");
    if (options.ttl) {
      std::weak_ptr<Entry> weak = impl_->registry.find(e.name);
      Impl* impl = impl_.get();
      impl_->executor.post_at(t.now() + *options.ttl, [impl, weak, id](UpdateThread& t2) {
        std::shared_ptr<Entry> entry = weak.lock();
        if (!entry) {
          return;
        }
        const std::optional<detail::PinState>& pin = entry->state.get(t2).pin;
        if (!pin || pin->id != id) {
          return;  // unpinned, or pinned again since
        }
        const Status st = impl->builder.unpin(t2, *entry);
        impl->log(st.ok() ? LogLevel::kWarning : LogLevel::kError,
                  "config \"" + entry->name + "\": the pin expired; " +
                      (st.ok() ? "the sources' configuration is published (generation " +
                                     std::to_string(entry->cell->generation()) + ")"
                               : "the sources' configuration is refused (" +
                                     st.error().to_string() + "); generation " +
                                     std::to_string(entry->cell->generation()) + " keeps serving"));
      });
    }
    return ok_status();
  });
}

Status ConfigManager::unpin(std::string_view name) {
  return impl_->with_entry(
      name, [&](UpdateThread& t, Entry& e) -> Status { return impl_->builder.unpin(t, e); });
}

Status ConfigManager::mark_healthy(std::string_view name, std::uint64_t generation) {
  return impl_->with_entry(name, [&](UpdateThread& t, Entry& e) -> Status {
    return detail::SourceScheduler::mark_healthy(t, e, generation);
  });
}

Result<std::uint64_t> ConfigManager::revert(std::string_view name, RevertOptions options) {
  std::uint64_t published = 0;
  Status st = impl_->with_entry(name, [&](UpdateThread& t, Entry& e) -> Status {
    Result<std::uint64_t> r = impl_->scheduler.revert(t, e, options);
    if (!r) {
      return std::move(r).error();
    }
    published = *r;
    return ok_status();
  });
  if (!st.ok()) {
    return st.error();
  }
  return published;
}

Status ConfigManager::update(std::string_view name, Value data, UpdateOptions options) {
  return impl_->with_entry(name, [&](UpdateThread& t, Entry& e) -> Status {
    EntryState& st = e.state.get(t);
    Layer layer{std::string(kOverrideLayer), kOverridePriority, std::move(data), ""};
    auto it = std::find_if(st.layers().begin(), st.layers().end(),
                           [](const auto& l) { return l->name == kOverrideLayer; });
    if (!options.replace && it != st.layers().end()) {
      std::vector<Layer> both = {**it, layer};
      both[1].priority = both[0].priority;
      detail::SnapshotBuilder::stamp_origins(both[1].data,
                                             Origin::named(std::string(kOverrideLayer)));
      layer.data = merge_layers(std::span<const Layer>(both), MergePolicies{});
    }
    layer.version = std::to_string(st.override_counter + 1);
    LayerBatch batch;
    batch.set.push_back(std::move(layer));
    Status applied = impl_->builder.apply(t, e, std::move(batch));
    if (applied.ok()) {
      ++st.override_counter;
      impl_->scheduler.retry_refused(t, e);
    }
    return applied;
  });
}

Status ConfigManager::apply(std::string_view name, LayerBatch batch) {
  return impl_->with_entry(name, [&](UpdateThread& t, Entry& e) -> Status {
    Status applied = impl_->builder.apply(t, e, std::move(batch));
    if (applied.ok()) {
      impl_->scheduler.retry_refused(t, e);
    }
    return applied;
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
  Result<std::shared_ptr<Entry>> e = impl_->registry.get(name);
  if (!e) {
    return std::move(e).error();
  }
  return impl_->dispatcher.subscribe(**e, std::move(prefix), std::move(fn));
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
  // The sources' names, checked on the update thread; again in the last
  // step, since the config may go or another source of that name arrive
  // while this thread waits.
  auto check = [&](UpdateThread& t, const Entry& e) -> Status {
    const EntryState& st = e.state.get(t);
    for (std::size_t i = 0; i < sources.size(); ++i) {
      const std::string& n = sources[i]->name();
      const bool taken =
          std::any_of(st.sources.begin(), st.sources.end(),
                      [&](const auto& s) { return s->source->name() == n; }) ||
          std::any_of(sources.begin(), sources.begin() + static_cast<std::ptrdiff_t>(i),
                      [&](const auto& s) { return s->name() == n; });
      if (taken) {
        return Error(ErrorCode::kValidation,
                     "config \"" + e.name + "\" already has a source named " + n);
      }
    }
    return ok_status();
  };
  Status attached = impl_->with_entry(name, [&](UpdateThread& t, Entry& e) -> Status {
    if (Status st = check(t, e); !st.ok()) {
      return st;
    }
    for (auto& source : sources) {
      if (Status st = source->attach(SourceContext{e.name, e.binding.schema}); !st.ok()) {
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
      return detail::current_exception_error("while waiting for " + source->name());
    }
  }
  return impl_->with_entry(name, [&](UpdateThread& t, Entry& e) -> Status {
    if (Status st = check(t, e); !st.ok()) {
      return st;
    }
    return impl_->scheduler.add(t, e, std::move(sources));
  });
}

Status ConfigManager::reload(std::string_view name) {
  return impl_->with_entry(
      name, [&](UpdateThread& t, Entry& e) { return impl_->scheduler.reload_all(t, e); });
}

Status ConfigManager::remove_source(std::string_view name, std::string_view source) {
  return impl_->with_entry(
      name, [&](UpdateThread& t, Entry& e) { return impl_->scheduler.remove(t, e, source); });
}

Status ConfigManager::unregister(std::string_view name) {
  return impl_->executor.run_sync([&](UpdateThread& t) -> Status {
    std::shared_ptr<Entry> e = impl_->registry.erase(name);
    if (!e) {
      return detail::Registry::not_found(name);
    }
    detail::SourceScheduler::stop_watching(t, *e);
    detail::MutexLock lk(e->subs_mu);
    for (const auto& s : e->subs) {
      s->active.store(false);
    }
    e->subs.clear();
    return ok_status();
  });
}

namespace {

ConfigStatus status_of(const Entry& e) {
  ConfigStatus st;
  st.name = e.name;
  st.type_name = e.binding.type_name;
  // Under stats_mu, as SnapshotBuilder::publish swaps: the generation and
  // the counters are read together.
  detail::MutexLock lk(e.stats_mu);
  if (SnapshotPtr s = e.cell->load()) {
    st.generation = s->generation();
    st.layers = s->layer_versions();
  }
  st.publishes = e.stats.publishes;
  st.failures = e.stats.failures;
  st.callbacks = e.stats.callbacks;
  st.callback_errors = e.stats.callback_errors;
  st.last_error = e.stats.last_error;
  st.sources = e.stats.sources;
  st.pin = e.stats.pin;
  st.healthy_generation = e.stats.healthy_generation;
  st.rollbacks = e.stats.rollbacks;
  st.reload_duration = e.stats.reload_duration;
  return st;
}

}  // namespace

std::vector<ConfigStatus> ConfigManager::list() const {
  std::vector<ConfigStatus> out;
  for (const auto& e : impl_->registry.all()) {
    out.push_back(status_of(*e));
  }
  return out;
}

Result<ConfigStatus> ConfigManager::status(std::string_view name) const {
  Result<std::shared_ptr<Entry>> e = impl_->registry.get(name);
  if (!e) {
    return std::move(e).error();
  }
  return status_of(**e);
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

bool ConfigManager::responsive(std::chrono::milliseconds within) const {
  // Shared with the task: it may run after this wait gave up.
  struct Ping {
    std::mutex mu;
    std::condition_variable cv;
    bool ran = false;
  };
  auto ping = std::make_shared<Ping>();
  impl_->executor.post([ping](UpdateThread&) {
    std::lock_guard<std::mutex> lk(ping->mu);
    ping->ran = true;
    ping->cv.notify_all();
  });
  std::unique_lock<std::mutex> lk(ping->mu);
  return ping->cv.wait_for(lk, within, [&] { return ping->ran; });
}

}  // namespace liveconf
