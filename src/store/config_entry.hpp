// One registered config as the manager keeps it, and the registry of them.
//
// Who touches what:
//   - the fixed part (name, binding, policies, cell) is set at registration;
//   - `state` (layers, sources) belongs to the update thread (UpdateThreadOwned);
//   - `stats` is written on the update thread and read by status() anywhere;
//   - `subs` is shared by subscribe() (any thread) and the dispatch thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "liveconf/store.hpp"

#include "base/mutex.hpp"
#include "merge/incremental_merge.hpp"
#include "store/snapshot_recycler.hpp"
#include "store/subscription_state.hpp"
#include "store/update_executor.hpp"

namespace liveconf::detail {

/// One source of a config and what the scheduler knows about it.
struct SourceSlot {
  std::uint64_t id = 0;
  std::unique_ptr<Source> source;
  WatchHandle watch;                     // declared after `source`: destroyed (cancelled) first
  std::vector<std::string> layer_names;  // its live layers
  // The newest load whose layers were refused (they did not bind or validate
  // with the rest): tried again with every later change of the config, since
  // another source's change can make it valid.
  std::optional<SourceLoad> refused;
  SourceState state = SourceState::kOk;
  std::optional<Error> last_error;
  std::uint64_t loads = 0;
  std::uint64_t failures = 0;
  std::uint64_t signals = 0;
  std::optional<std::chrono::system_clock::time_point> last_success;
  std::chrono::system_clock::time_point state_since = std::chrono::system_clock::now();
  bool pending = false;  // a signal arrived; a reload is scheduled
  // The pending reload waits for a writer (Source::busy): the next signal
  // (its IN_CLOSE_WRITE, the rename) looks again at once instead of waiting
  // for the re-check timer, which runs at `recheck_at`.
  bool held = false;
  Clock::TimePoint recheck_at;
  unsigned retries = 0;           // transient failures in a row (backoff)
  std::uint64_t retry_token = 0;  // a scheduled retry runs only if unchanged
  Clock::TimePoint first_signal;
  Clock::TimePoint last_signal;
  // Set by ConfigManager::revert: this content made the config unhealthy. A
  // load with the same content is not applied; any other load clears it.
  struct Quarantine {
    std::vector<std::shared_ptr<const Layer>> layers;  // the source's layers then
    Error error;
    /// Same layer names, and each layer the same version (file content hash,
    /// environment) or, failing that, the same data: an etcd put of the same
    /// value again has a new revision and is still the same content.
    [[nodiscard]] bool matches(const std::vector<Layer>& load) const;
  };
  std::optional<Quarantine> quarantine;
};

/// What the update thread keeps for a config.
/// A pin's identity: a TTL timer ends only the pin it was set for.
struct PinState {
  std::uint64_t id = 0;
};

struct EntryState {
  // The last published snapshot, whose layers are the live stack (canonical
  // order): shared with it rather than copied, since only the update thread
  // publishes.
  SnapshotPtr live;
  [[nodiscard]] std::span<const std::shared_ptr<const Layer>> layers() const noexcept {
    return live ? live->layers() : std::span<const std::shared_ptr<const Layer>>();
  }
  std::uint64_t override_counter = 0;
  // The layers given at registration (defaults, initial, options.layers):
  // they stay below every source's layers of the same priority.
  std::unordered_set<std::string> base_layers;
  std::vector<std::unique_ptr<SourceSlot>> sources;  // in the order they were added
  // The last merge of the stack, patched when a change keeps its shape.
  IncrementalMerge merge;
  // Layer name -> position in layers(); built on first use, cleared whenever
  // the stack's order changes (see layer_positions()).
  std::unordered_map<std::string, std::size_t> positions;
  // Set while pinned: the cell serves the pinned snapshot and `live` is the
  // sources' stack, built and validated but not published (SnapshotBuilder::pin).
  std::optional<PinState> pin;
  std::uint64_t pin_counter = 0;
  // The last generation that passed its health bake (ConfigManager::mark_healthy),
  // and which of its layers each source (by SourceSlot::id) had then.
  struct Healthy {
    SnapshotPtr snapshot;
    std::unordered_map<std::uint64_t, std::vector<std::string>> source_layers;
  };
  std::optional<Healthy> healthy;
};

/// `st.positions`, built first if empty.
const std::unordered_map<std::string, std::size_t>& layer_positions(EntryState& st);

/// Counters and status, written on the update thread, read by status().
struct EntryStats {
  std::uint64_t publishes = 0;
  std::uint64_t failures = 0;
  std::uint64_t callbacks = 0;
  std::uint64_t callback_errors = 0;
  std::optional<Error> last_error;
  std::vector<SourceStatus> sources;
  DurationHistogram reload_duration;
  std::optional<PinStatus> pin;
  std::uint64_t healthy_generation = 0;
  RollbackCounts rollbacks;
};

struct Entry {
  std::string name;
  TypeBinding binding;
  bool strict = false;
  // Shared with every snapshot (Snapshot::merge_policies), never null.
  std::shared_ptr<const MergePolicies> policies = std::make_shared<const MergePolicies>();
  std::uint64_t first_generation = 1;
  SensitivePaths sensitive;
  std::vector<KeyPath> restart_paths;
  std::shared_ptr<SnapshotCell> cell = std::make_shared<SnapshotCell>();
  // Makes this config's snapshots, and takes back the layer list of each one
  // destroyed, for the next change to write over. Thread-safe.
  std::shared_ptr<SnapshotRecycler> recycler = std::make_shared<SnapshotRecycler>();

  UpdateThreadOwned<EntryState> state;

  mutable Mutex stats_mu;
  EntryStats stats LIVECONF_GUARDED_BY(stats_mu);

  Mutex subs_mu;
  std::vector<std::shared_ptr<SubscriptionState>> subs LIVECONF_GUARDED_BY(subs_mu);
};

/// The configs by name. Thread-safe; lookups are frequent, changes rare.
class Registry {
 public:
  [[nodiscard]] std::shared_ptr<Entry> find(std::string_view name) const;
  /// The entry, or kNotFound naming it.
  [[nodiscard]] Result<std::shared_ptr<Entry>> get(std::string_view name) const;
  [[nodiscard]] std::vector<std::shared_ptr<Entry>> all() const;
  /// False if the name is taken.
  bool insert(std::shared_ptr<Entry> entry);
  /// The removed entry, or null.
  std::shared_ptr<Entry> erase(std::string_view name);

  [[nodiscard]] static Error not_found(std::string_view name);

 private:
  // A reader-writer lock. Not annotated: our Mutex wrapper has no shared mode,
  // and every use is three lines in registry.cpp.
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> entries_;
};

/// The manager's log callback, shielded: a failing log sink must not stop updates.
class ManagerLog {
 public:
  explicit ManagerLog(std::function<void(LogLevel, std::string_view)> sink);
  void operator()(LogLevel level, std::string_view message) const noexcept;

 private:
  std::function<void(LogLevel, std::string_view)> sink_;
};

}  // namespace liveconf::detail
