// File: liveconf/store.hpp
//
// ConfigManager holds named configurations, each an ordered stack of layers
// merged, bound to a type and published as an immutable Snapshot. It is the
// seed's ConfigManager (register, get, update) plus subscriptions, provenance
// and a read path for hot code.
//
//   liveconf::ConfigManager manager;
//   liveconf::Result<liveconf::Config<WatchedConfig>> watched =
//       manager.register_config<WatchedConfig>("watched", initial);
//   if (!watched) {
//     std::cerr << watched.error().to_string() << "\n";
//     return 1;
//   }
//   std::shared_ptr<const WatchedConfig> c = watched->get();
//   // By name, where no handle is at hand (value() throws liveconf::BadResultAccess,
//   // carrying the Error, if there is no such config):
//   std::shared_ptr<const WatchedConfig> same = manager.get<WatchedConfig>("watched").value();
//
//   liveconf::Value patch = liveconf::Value::object();
//   patch["timeout"] = 60;
//   if (liveconf::Status st = manager.update("watched", patch); !st.ok()) {  // validated,
//     std::cerr << st.to_string() << "\n";  // then published, or refused: the old one stays
//   }
//
//   liveconf::Result<liveconf::Subscription> sub =
//       manager.subscribe("watched", "", [](const liveconf::SnapshotPtr& old_snap,
//                                           const liveconf::SnapshotPtr& new_snap,
//                                           const liveconf::ChangeSet& changes) {
//         for (const auto& c : changes) std::cout << c.to_string() << "\n";  // timeout: 30 -> 60
//       });
//   // `sub` holds the Subscription (callbacks stop when it is destroyed) or the error.
//
//   liveconf::Reader<WatchedConfig> reader = watched->reader();
//   int t = reader->timeout;   // a few nanoseconds; never blocks
//
// Pipeline (docs/architecture.md): every mutation runs on the manager's one
// update thread: layers -> merge (by priority, with provenance) -> pin
// restart-required fields -> bind to T -> validate -> publish with one atomic
// swap. A failed candidate is dropped whole: the previous snapshot keeps
// serving and the error is returned (and logged, and kept in status()).
// Subscribers run on a separate dispatch thread, so a slow subscriber never
// holds up publishing; it receives the changes since its last call.
//
// Thread-safety: every method may be called from any thread, subscription
// callbacks included. Mutating methods (register, update, apply, unregister)
// wait for the update thread; called from the update thread itself (from a
// validator or parser) they return kInternal instead of deadlocking.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <version>

#include "liveconf/bind.hpp"
#include "liveconf/clock.hpp"
#include "liveconf/diff.hpp"
#include "liveconf/export.hpp"
#include "liveconf/merge.hpp"
#include "liveconf/snapshot.hpp"
#include "liveconf/source.hpp"
#include "liveconf/status.hpp"
#include "liveconf/subscription.hpp"
#include "liveconf/value.hpp"

namespace liveconf {

/// Priorities of the layers the manager adds itself.
inline constexpr int kDefaultsPriority = INT_MIN;     // T{}'s member initialisers
inline constexpr int kInitialPriority = INT_MIN + 1;  // the instance given to register_config
inline constexpr int kOverridePriority = INT_MAX;     // update()'s runtime overrides
inline constexpr std::string_view kDefaultsLayer = "defaults";
inline constexpr std::string_view kInitialLayer = "initial";
inline constexpr std::string_view kOverrideLayer = "override";

enum class LogLevel : std::uint8_t { kDebug, kInfo, kWarning, kError };

/// A source changed state, or a reload of it failed (then `error` says why and
/// `generation` is the one still served).
struct SourceEvent {
  std::string config;
  std::string source;
  SourceState state = SourceState::kOk;
  std::optional<Error> error;
  std::uint64_t generation = 0;
};

struct ManagerOptions {
  /// Receives warnings (unknown keys, throwing subscribers) and errors (refused
  /// updates). Messages never contain secret values. Default: warnings and
  /// errors to stderr as "liveconf: <message>". Called on the update or
  /// dispatch thread; must not block on the manager.
  std::function<void(LogLevel, std::string_view)> log;
  /// Receives source state changes and failed reloads, on the update thread;
  /// must not block on the manager.
  std::function<void(const SourceEvent&)> on_source_event;
  /// The time debounce periods and retry backoffs are measured in. Default:
  /// the steady clock. A ManualClock makes them move only when told to.
  std::shared_ptr<const Clock> clock;
  /// Called on the update thread when a reload of a config's sources begins
  /// (`begin` true: before the first load) and when it ends (published,
  /// unchanged or refused). systemd's RELOADING=1/READY=1 hang on it
  /// (liveconf::SystemdNotifier). Must not block on the manager.
  std::function<void(std::string_view config, bool begin)> on_reload;
  /// Called right after each publish, in generation order, with the snapshot
  /// it replaced (null for a config's first) and the new one: every
  /// generation, where subscribers converge on the latest. Runs on the update
  /// thread, so the next reload waits for it: liveconf::Journal writes its record here. An
  /// exception is logged and ignored. Must not block on the manager.
  std::function<void(const SnapshotPtr& old, const SnapshotPtr& current)> on_publish;
};

struct RegisterOptions {
  /// Layers besides the defaults (and the initial instance, if given).
  std::vector<Layer> layers;
  /// Unknown keys are errors instead of warnings.
  bool strict = false;
  /// Secrets besides the schema's (the only way to mark them in an untyped config).
  std::vector<KeyPath> sensitive;
  /// The generation of the first publish (at least 1). A process that keeps a
  /// journal continues where its last run stopped, so a generation names one
  /// configuration across restarts (Journal::next_generation).
  std::uint64_t first_generation = 1;
};

struct PinOptions {
  /// The pin ends by itself (as unpin() would) this long after it was set,
  /// on the manager's clock. None: until unpin().
  std::optional<std::chrono::milliseconds> ttl;
  /// Why: "rollback by alice", "health check failed"; in status and logs.
  std::string reason;
  /// The generation `layers` were taken from (a journal's), for status,
  /// events and history; 0 if they come from elsewhere.
  std::uint64_t pinned_generation = 0;
  /// The pin is an operator's rollback (Journal::rollback sets it): counted
  /// in status().rollbacks.by_operator (liveconf_rollbacks_total{reason="operator"}).
  bool rollback = false;
};

/// ConfigManager::revert: going back to the last healthy generation.
struct RevertOptions {
  /// The generation found unhealthy. The revert happens only while it is
  /// still served: if a newer one was published since, kFailedPrecondition (that one
  /// gets its own bake). 0: whatever is served.
  std::uint64_t from_generation = 0;
  /// Why (the failed check's message): in logs, status, the snapshot's
  /// RevertInfo and the journal. Must not contain secret values.
  std::string reason;
};

/// How often a config went back, by who decided it.
struct RollbackCounts {
  std::uint64_t by_health = 0;    // ConfigManager::revert (the health gate)
  std::uint64_t by_operator = 0;  // pins marked PinOptions::rollback
};

struct UpdateOptions {
  /// Replace the override layer with `data` instead of deep-merging into it.
  bool replace = false;
};

/// A set of layer changes published as one snapshot (one notification), e.g.
/// several files changed together or one remote transaction.
struct LayerBatch {
  std::vector<Layer> set;           // add, or replace by name
  std::vector<std::string> remove;  // names to remove
};

/// A source's state within a config.
struct SourceStatus {
  std::string name;
  SourceState state = SourceState::kOk;
  std::optional<Error> last_error;   // why the newest content was refused
  std::uint64_t loads = 0;           // load() calls, the initial one included
  std::uint64_t failures = 0;        // loads that failed, or whose content was refused
  std::uint64_t signals = 0;         // change notifications from its watch backend
  std::vector<LayerVersion> layers;  // its live (last good) layers
  /// Wall-clock time of the last load whose content went live (or was
  /// already live); empty until one did. What "stale for N minutes" alerts use.
  std::optional<std::chrono::system_clock::time_point> last_success;
  /// Wall-clock time it entered `state` (registration time for the first).
  std::chrono::system_clock::time_point state_since;
};

/// How long reloads took, from a source's load to the publish it caused, in
/// fixed buckets (seconds) a metrics endpoint can expose as a histogram.
/// Thread-safety: a value type.
struct DurationHistogram {
  static constexpr std::array<double, 14> kBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  std::array<std::uint64_t, kBounds.size() + 1> counts{};  // per bucket; the last is +Inf
  double sum_seconds = 0;
  std::uint64_t count = 0;

  void observe(double seconds) noexcept {
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) {
      ++i;
    }
    ++counts[i];
    sum_seconds += seconds;
    ++count;
  }
};

/// A config's state for `list()` and `status()`.
/// A pinned config: what is served, and what waits behind the pin.
struct PinStatus {
  std::uint64_t pinned_generation = 0;  // the generation whose content is served
  std::uint64_t served_generation = 0;  // the generation that published it
  std::chrono::system_clock::time_point since;
  std::optional<std::chrono::system_clock::time_point> expires;  // none: until unpin()
  std::string reason;
  /// The changes the sources hold that the pin keeps from being served
  /// (secrets masked): what unpin() would publish.
  std::vector<Change> pending;
};

struct ConfigStatus {
  std::string name;
  std::string type_name;  // "untyped" without a schema
  std::uint64_t generation = 0;
  std::vector<LayerVersion> layers;
  std::uint64_t publishes = 0;        // successful rebuilds
  std::uint64_t failures = 0;         // refused candidates
  std::uint64_t callbacks = 0;        // subscriber calls made
  std::uint64_t callback_errors = 0;  // subscriber exceptions
  std::optional<Error> last_error;    // cleared by the next successful rebuild
  std::vector<SourceStatus> sources;
  DurationHistogram reload_duration;  // source reloads that published
  std::optional<PinStatus> pin;       // set while pinned (ConfigManager::pin)
  /// The newest generation that passed its health bake (mark_healthy), which
  /// revert() goes back to; 0 if none has.
  std::uint64_t healthy_generation = 0;
  RollbackCounts rollbacks;
};

struct ExportOptions {
  std::string format = "json";  // json, yaml or toml
  bool reveal_secrets = false;
  int indent = 2;
};

/// fn(old, current, changes): changes are the ones under the subscription's prefix.
using ChangeFn = std::function<void(const SnapshotPtr& old_snapshot,
                                    const SnapshotPtr& new_snapshot, const ChangeSet& changes)>;

// Implementation details below ------------------------------------------------

namespace detail {

/// What the manager needs to know about a config's type, type-erased.
struct TypeBinding {
  TypeId type;                     // empty: untyped
  const Schema* schema = nullptr;  // null: untyped (the tree is the config)
  std::string type_name = "untyped";
  Value defaults;  // T{} as a tree (object), or null
  std::function<std::shared_ptr<const void>(const Value&, const BindOptions&, BindReport&)> bind;
  std::shared_ptr<const void> owner;  // keeps a run-time schema alive
};

template <Described T>
TypeBinding make_type_binding() {
  TypeBinding b;
  b.type = TypeId::of<T>();
  b.schema = &schema_of<T>();
  b.type_name = schema_of<T>().type_name();
  b.defaults = to_dict(T{}, ToDictOptions{true});
  b.bind = [](const Value& tree, const BindOptions& options,
              BindReport& report) -> std::shared_ptr<const void> {
    Result<T> r = from_dict<T>(tree, options, &report);
    if (!r) {
      return nullptr;
    }
    return std::make_shared<const T>(std::move(*r));
  };
  return b;
}

// ThreadSanitizer does not model libstdc++ 12's std::atomic<std::shared_ptr>
// (its spin-lock bit in the reference count word; GCC 13 annotates it), so it
// reports the swap itself as a race. A suppression of that frame hid every
// report with the publish/load path in either stack, and stopped matching
// whenever the inlined frame was not symbolised. Under TSan the cell uses a
// mutex instead, which TSan models: the publish/load path stays checked and no
// suppression is needed. Both members exist in every build that has the
// atomic, so the layout does not depend on the sanitizer (a TSan program is
// instrumented whole).
//
// libc++ has no std::atomic<std::shared_ptr> at all (llvm#99980; libc++ 14
// rejects the specialisation), which the library announces by leaving
// __cpp_lib_atomic_shared_ptr undefined: the cell then uses the same mutex.
// The layout then differs, but so does everything else between the two
// standard libraries.
#if defined(__SANITIZE_THREAD__)
#define LIVECONF_TSAN_CELL 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LIVECONF_TSAN_CELL 1
#endif
#endif
#if defined(LIVECONF_TSAN_CELL) || !defined(__cpp_lib_atomic_shared_ptr)
#define LIVECONF_LOCKED_CELL 1
#endif

/// One config's current snapshot, published with a single atomic swap.
/// Readers load it without blocking the writer, except in a locked cell
/// (kLocked): there a load and a publish hold one mutex for a pointer copy.
class LIVECONF_API SnapshotCell {
 public:
  /// True when the cell guards its pointer with a mutex: under ThreadSanitizer,
  /// or with a standard library without std::atomic<std::shared_ptr> (libc++).
#ifdef LIVECONF_LOCKED_CELL
  static constexpr bool kLocked = true;
#else
  static constexpr bool kLocked = false;
#endif

  [[nodiscard]] SnapshotPtr load() const noexcept {
#ifdef LIVECONF_LOCKED_CELL
    std::lock_guard<std::mutex> lk(locked_mu_);
    return locked_ptr_;
#else
    return ptr_.load(std::memory_order_acquire);
#endif
  }
  [[nodiscard]] std::uint64_t generation() const noexcept {
    return generation_.load(std::memory_order_acquire);
  }
  void publish(SnapshotPtr snapshot) noexcept {
    const std::uint64_t g = snapshot->generation();
#ifdef LIVECONF_LOCKED_CELL
    {
      std::lock_guard<std::mutex> lk(locked_mu_);
      locked_ptr_ = std::move(snapshot);
    }
#else
    ptr_.store(std::move(snapshot), std::memory_order_release);
#endif
    generation_.store(g, std::memory_order_release);
  }

 private:
#ifdef __cpp_lib_atomic_shared_ptr
  std::atomic<SnapshotPtr> ptr_;  // unused in a locked cell (see above)
#endif
  mutable std::mutex locked_mu_;  // locked cells only (see above)
  SnapshotPtr locked_ptr_;        // locked cells only
  // On its own cache line: readers poll it; the pointer's line is written on publish.
  alignas(64) std::atomic<std::uint64_t> generation_{0};
};

}  // namespace detail

/// A per-thread reading handle for hot code, with a pinned view: everything
/// read through it comes from one snapshot until the caller asks for a newer
/// one.
///
///   const Config& cfg = reader.get();      // the newest snapshot, pinned from here
///   connect(reader->host, reader->port);   // both fields from that one snapshot
///
/// get() and refresh() move to the newest snapshot: one atomic load and a
/// compare while the config is unchanged. operator* and operator-> never move:
/// they read the pinned snapshot, so `connect(r->host, r->port)` cannot mix
/// two generations (a validated cross-field invariant holds in what you read).
/// The pinned snapshot is owned by the Reader: references stay valid until the
/// next get()/refresh() on this Reader, or its destruction, even when the
/// manager has published newer snapshots since.
///
/// Thread-safety: a Reader is NOT shared between threads: give each thread its
/// own (they are cheap to copy). Any number of Readers read concurrently with
/// the writer.
template <typename T>
class Reader {
 public:
  Reader(std::shared_ptr<const detail::SnapshotCell> cell) : cell_(std::move(cell)) {  // NOLINT
    load();
  }

  /// Moves to the newest snapshot (if there is one) and returns it, pinned.
  [[nodiscard]] const T& get() noexcept {
    (void)refresh();
    return *value_;
  }
  /// Moves to the newest snapshot; true if it was newer than the pinned one.
  bool refresh() noexcept {
    if (cell_->generation() != generation_) [[unlikely]] {
      load();
      return true;
    }
    return false;
  }
  /// True if a newer snapshot than the pinned one has been published.
  [[nodiscard]] bool stale() const noexcept { return cell_->generation() != generation_; }
  /// The pinned snapshot's object; never moves.
  [[nodiscard]] const T& pinned() const noexcept { return *value_; }
  [[nodiscard]] const T& operator*() const noexcept { return *value_; }
  [[nodiscard]] const T* operator->() const noexcept { return value_; }
  /// The pinned snapshot.
  [[nodiscard]] const SnapshotPtr& snapshot() const noexcept { return snapshot_; }

 private:
  void load() noexcept {
    snapshot_ = cell_->load();
    value_ = &snapshot_->template bound<T>();
    generation_ = snapshot_->generation();
  }

  std::shared_ptr<const detail::SnapshotCell> cell_;
  SnapshotPtr snapshot_;
  const T* value_ = nullptr;
  std::uint64_t generation_ = 0;
};

template <typename T>
class Config;

/// See the file comment. Owns an update thread and a dispatch thread, both
/// stopped by the destructor (pending subscription calls are dropped).
class LIVECONF_API ConfigManager {
 public:
  ConfigManager();
  explicit ConfigManager(ManagerOptions options);
  ~ConfigManager();
  ConfigManager(const ConfigManager&) = delete;
  ConfigManager& operator=(const ConfigManager&) = delete;

  /// Registers config `name` of type T (the seed's register; `register` is a C++
  /// keyword). Layers: T{}'s defaults, then options.layers. Publishes generation 1.
  /// Returns the typed handle (see Config): its calls need neither the name
  /// nor T again, and using it as another type does not compile.
  /// Errors: kValidation if the name is taken; the bind error if the layers do not bind.
  template <Described T>
  [[nodiscard]] Result<Config<T>> register_config(std::string name, RegisterOptions options = {}) {
    return typed_handle<T>(name,
                           register_impl(name, detail::make_type_binding<T>(), std::move(options)));
  }
  /// Same, with `initial` as a layer ("initial") just above the defaults, like the
  /// seed's `register("watched", config=config)`.
  template <Described T>
  [[nodiscard]] Result<Config<T>> register_config(std::string name, const T& initial,
                                                  RegisterOptions options = {}) {
    options.layers.push_back(Layer{std::string(kInitialLayer), kInitialPriority,
                                   to_dict(initial, ToDictOptions{true}), "initial"});
    return typed_handle<T>(name,
                           register_impl(name, detail::make_type_binding<T>(), std::move(options)));
  }
  /// The typed handle of a config registered earlier (as T).
  /// Errors: kNotFound; kType if T is not its type.
  template <typename T>
  [[nodiscard]] Result<Config<T>> config(std::string_view name) {
    return typed_handle<T>(name, ok_status());
  }
  /// A config without a C++ type: the merged tree is the config.
  Status register_untyped(std::string name, RegisterOptions options = {});
  /// A config described at run time (a Schema built with Schema::add_field,
  /// e.g. the CLI's --schema file): the schema names, converts and validates
  /// fields as a described struct's does, and the bound object is the
  /// converted tree, read with get<Value>(name). `defaults` (an object, or
  /// null) is the defaults layer. The manager keeps `schema` alive.
  /// Errors: as register_config.
  Status register_schema(std::string name, std::shared_ptr<const Schema> schema, Value defaults,
                         RegisterOptions options = {});

  /// The current typed config. Errors: kNotFound; kType if T is not its type.
  template <typename T>
  [[nodiscard]] Result<std::shared_ptr<const T>> get(std::string_view name) const {
    Result<SnapshotPtr> snap = snapshot(name);
    if (!snap) {
      return std::move(snap).error();
    }
    SnapshotPtr s = std::move(*snap);
    if (!(s->type() == TypeId::of<T>())) {
      return Error(ErrorCode::kType,
                   "config \"" + std::string(name) + "\" is not of the requested type");
    }
    const T* raw = &s->template bound<T>();
    return std::shared_ptr<const T>(std::move(s), raw);
  }
  /// The current snapshot. Errors: kNotFound.
  [[nodiscard]] Result<SnapshotPtr> snapshot(std::string_view name) const;
  /// A hot-path reading handle (see Reader). Errors: kNotFound, kType.
  template <typename T>
  [[nodiscard]] Result<Reader<T>> reader(std::string_view name) const {
    Result<std::shared_ptr<const detail::SnapshotCell>> cell = cell_for(name, TypeId::of<T>());
    if (!cell) {
      return std::move(cell).error();
    }
    return Reader<T>(std::move(*cell));
  }

  /// Serves `layers` (typically a generation restored from a journal) instead
  /// of what the sources say, until unpin() or the pin's TTL. They are merged,
  /// bound and validated like any stack and published as the next generation
  /// (an invalid stack is refused and nothing changes). The sources keep
  /// being watched and loaded; what they would publish waits behind the pin
  /// (status().pin->pending) and is published by unpin(). Pinning again
  /// replaces the pin. Errors: kNotFound, kType/kValidation from binding.
  Status pin(std::string_view name, std::vector<Layer> layers, PinOptions options = {});
  /// Ends the pin and publishes what the sources say now (one generation).
  /// kNotFound if the config is not pinned.
  Status unpin(std::string_view name);

  /// Records that `generation` passed its health bake: revert() goes back to
  /// it (liveconf::HealthGate calls this). Errors: kFailedPrecondition if it is no
  /// longer the one served or while pinned, kNotFound.
  Status mark_healthy(std::string_view name, std::uint64_t generation);
  /// Goes back to the last generation marked healthy, as a new generation
  /// (one publish, one diff for subscribers, Snapshot::revert() set). Each
  /// source whose content differs from what it had then is quarantined: its
  /// current content (by layer versions: content hash, env content, etcd
  /// revision) is not applied again; the source is kError with the reason
  /// until its content changes to something else, which is applied as usual.
  /// Layers set by update()/apply() go back too (they are not quarantined).
  /// Returns the generation published. Errors: kFailedPrecondition (nothing
  /// healthy to go back to, pinned, or see RevertOptions::from_generation),
  /// kNotFound, or the build's error (then nothing changed).
  Result<std::uint64_t> revert(std::string_view name, RevertOptions options);

  /// Applies `data` as a runtime override (the highest layer) and publishes.
  /// Returns once published, or with the error that refused it (then nothing
  /// changed). Errors: kNotFound, kType/kValidation from binding, kInternal if
  /// called on the update thread (from a validator or parser).
  Status update(std::string_view name, Value data, UpdateOptions options = {});
  /// Adds/replaces/removes layers as one publish. Same errors as update().
  Status apply(std::string_view name, LayerBatch batch);
  /// Shorthand for apply() with one layer.
  Status set_layer(std::string_view name, Layer layer);
  Status remove_layer(std::string_view name, std::string_view layer);

  /// Adds a source to config `name`: loads it now (no debounce) and publishes,
  /// then watches it; each change signal is debounced (Source::debounce()),
  /// the source reloaded on the update thread and its layers published. A
  /// failed reload keeps the source's last good layers (state kError) and is
  /// reported through ManagerOptions::on_source_event and status().
  ///
  /// Blocking: a remote source first waits on the calling thread for its
  /// first state, up to its own start-up timeout (Source::wait_ready(); an
  /// etcd source's initial_timeout). The update thread is not held meanwhile:
  /// other configs' updates and every source's reloads go on.
  /// Errors: kNotFound (config), kValidation (a source of that name exists),
  /// or the initial load's error (then the source is not added).
  Status add_source(std::string_view name, std::unique_ptr<Source> source);
  /// Adds several sources as one fresh load: each is loaded, then all are
  /// merged and published once, so a source that is only valid together with
  /// a later one (a validator's min in one file, max in another) is accepted,
  /// as a fresh start of the process would. Errors: as add_source (then none
  /// of them is added).
  Status add_sources(std::string_view name, std::vector<std::unique_ptr<Source>> sources);
  /// Reloads every source of config `name` now, skipping their debounce, into
  /// one publish (the seed's sync_configuration). A source whose content is
  /// refused keeps its last good layers, as on a watched change.
  /// Errors: kNotFound; otherwise the first refused source's error (the
  /// others still went live).
  Status reload(std::string_view name);
  /// Stops watching a source and removes its layers (one publish).
  Status remove_source(std::string_view name, std::string_view source);

  /// Calls `fn(old, current, changes)` after each published snapshot whose diff
  /// touches `prefix` ("" for everything); `changes` holds just those changes.
  ///
  /// Delivery: the subscriber converges on the latest snapshot, not on every
  /// intermediate one. Each call's `old` is the snapshot of its previous call
  /// and `current` the newest published; publishes that land while a call
  /// runs (or before the dispatch thread wakes) are merged into one call, and
  /// if they cancel out under `prefix` (A→B→A) there is no call at all.
  /// Calls for one subscription never overlap and run on the
  /// manager's dispatch thread. A throwing `fn` is logged and counted; other
  /// subscribers are unaffected. `fn` may call any method, update() included
  /// (that change is then delivered in a later call).
  ///
  /// Lifetime: the returned handle owns the subscription. Once its destructor
  /// returns, `fn` is not called again; destroying it inside `fn` is fine.
  /// Errors: kNotFound.
  [[nodiscard]] Result<Subscription> subscribe(std::string_view name, KeyPath prefix, ChangeFn fn);
  /// Typed convenience: fn(old, current, changes) with the bound objects.
  template <typename T>
  [[nodiscard]] Result<Subscription> subscribe(
      std::string_view name, KeyPath prefix,
      std::function<void(const T& old_config, const T& new_config, const ChangeSet& changes)> fn) {
    if (Result<SnapshotPtr> s = snapshot(name); !s) {
      return std::move(s).error();
    } else if (!((*s)->type() == TypeId::of<T>())) {
      return Error(ErrorCode::kType,
                   "config \"" + std::string(name) + "\" is not of the requested type");
    }
    return subscribe(
        name, std::move(prefix),
        [fn = std::move(fn)](const SnapshotPtr& a, const SnapshotPtr& b, const ChangeSet& changes) {
          fn(a->template bound<T>(), b->template bound<T>(), changes);
        });
  }

  /// Removes a config. Existing snapshots and Readers keep working; its
  /// subscriptions stop. Errors: kNotFound.
  Status unregister(std::string_view name);
  /// Every registered config, by name.
  [[nodiscard]] std::vector<ConfigStatus> list() const;
  /// Counters and source states. Refreshed on the update thread right after
  /// each publish, so it can trail a snapshot that was just published.
  [[nodiscard]] Result<ConfigStatus> status(std::string_view name) const;
  /// The merged config as text (secrets masked unless options.reveal_secrets).
  [[nodiscard]] Result<std::string> export_config(std::string_view name,
                                                  const ExportOptions& options = {}) const;
  /// Every layer's value for `path` and which won (secrets masked).
  [[nodiscard]] Result<Explanation> explain(std::string_view name, const KeyPath& path) const;

  /// Whether the update thread runs a task queued now within `within`: the
  /// liveness a watchdog should report (a stuck validator or parser shows
  /// here, and nowhere else). False once the manager is stopping.
  [[nodiscard]] bool responsive(std::chrono::milliseconds within) const;

 private:
  struct Impl;
  Status register_impl(std::string name, detail::TypeBinding binding, RegisterOptions options);
  [[nodiscard]] Result<std::shared_ptr<const detail::SnapshotCell>> cell_for(std::string_view name,
                                                                             TypeId type) const;

  template <typename T>
  Result<Config<T>> typed_handle(std::string_view name, Status registered) {
    if (!registered.ok()) {
      return registered.error();
    }
    Result<std::shared_ptr<const detail::SnapshotCell>> cell = cell_for(name, TypeId::of<T>());
    if (!cell) {
      return std::move(cell).error();
    }
    return Config<T>(*this, std::string(name), std::move(*cell));
  }

  std::unique_ptr<Impl> impl_;
};

/// A typed handle on one config of a ConfigManager: what register_config<T>()
/// returns. It names the config and its type once, so
///
///   liveconf::Config<Server> server = manager.register_config<Server>("server").value();
///   int port = server.get()->port;                      // no name, no <Server>
///   auto sub = server.subscribe("limits", [](const Server& before, const Server& after,
///                                            const liveconf::ChangeSet&) { ... });
///   liveconf::Status st = server.update(patch);
///
/// and `Config<Client> c = manager.register_config<Server>(...)` does not
/// compile. The string-keyed ConfigManager calls remain for untyped use.
///
/// Reads (get(), reader(), snapshot()) never fail: the handle holds the
/// config's publishing cell, so after unregister() they keep returning the
/// last snapshot. The other calls go through the manager and report
/// kNotFound once the config is unregistered.
///
/// Lifetime and threads: a handle is a cheap value (copy it freely, use it
/// from any thread) that refers to its manager: use it only while the
/// manager lives.
template <typename T>
class Config {
 public:
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] ConfigManager& manager() const noexcept { return *manager_; }

  /// The current typed config (shares ownership of its snapshot).
  [[nodiscard]] std::shared_ptr<const T> get() const {
    SnapshotPtr s = cell_->load();
    const T* raw = &s->template bound<T>();
    return std::shared_ptr<const T>(std::move(s), raw);
  }
  /// The current snapshot (tree, layers, provenance).
  [[nodiscard]] SnapshotPtr snapshot() const { return cell_->load(); }
  /// A hot-path reading handle, one per thread (see Reader).
  [[nodiscard]] Reader<T> reader() const { return Reader<T>(cell_); }

  /// fn(old, current, changes) with the bound objects, after each publish
  /// whose diff touches `prefix` ("" for everything). Delivery as
  /// ConfigManager::subscribe. Errors: kNotFound.
  [[nodiscard]] Result<Subscription> subscribe(
      KeyPath prefix,
      std::function<void(const T& old_config, const T& new_config, const ChangeSet& changes)> fn)
      const {
    return manager_->subscribe(
        name_, std::move(prefix),
        [fn = std::move(fn)](const SnapshotPtr& a, const SnapshotPtr& b, const ChangeSet& changes) {
          fn(a->template bound<T>(), b->template bound<T>(), changes);
        });
  }
  /// The same with the snapshots (trees, provenance) instead of the objects.
  [[nodiscard]] Result<Subscription> subscribe_snapshots(KeyPath prefix, ChangeFn fn) const {
    return manager_->subscribe(name_, std::move(prefix), std::move(fn));
  }

  /// ConfigManager::update on this config.
  Status update(Value data, UpdateOptions options = {}) const {
    return manager_->update(name_, std::move(data), options);
  }
  /// ConfigManager::add_source on this config.
  Status add_source(std::unique_ptr<Source> source) const {
    return manager_->add_source(name_, std::move(source));
  }
  /// ConfigManager::add_sources on this config.
  Status add_sources(std::vector<std::unique_ptr<Source>> sources) const {
    return manager_->add_sources(name_, std::move(sources));
  }
  /// ConfigManager::reload on this config.
  Status reload() const { return manager_->reload(name_); }
  /// Every layer's value for `path` and which won (secrets masked).
  [[nodiscard]] Explanation explain(const KeyPath& path) const { return snapshot()->explain(path); }
  /// ConfigManager::status on this config.
  [[nodiscard]] Result<ConfigStatus> status() const { return manager_->status(name_); }

 private:
  friend class ConfigManager;
  Config(ConfigManager& manager, std::string name, std::shared_ptr<const detail::SnapshotCell> cell)
      : manager_(&manager), name_(std::move(name)), cell_(std::move(cell)) {}

  ConfigManager* manager_;
  std::string name_;
  std::shared_ptr<const detail::SnapshotCell> cell_;
};

}  // namespace liveconf
