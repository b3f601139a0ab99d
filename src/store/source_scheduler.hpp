// The source scheduler: turns watcher signals into reloads. A signal (from a
// watch backend's thread) is queued to the update thread; there each source
// is debounced (quiet period, max wait, held while its writer is busy), the
// sources of a config that are due together reload together into one
// publish, a refused load is kept and retried whenever the config changes, a
// transient failure retries with backoff, and state changes are announced.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "liveconf/store.hpp"

#include "store/config_entry.hpp"
#include "store/snapshot_builder.hpp"
#include "store/update_executor.hpp"

namespace liveconf::detail {

class SourceScheduler {
 public:
  SourceScheduler(UpdateExecutor& executor, const Registry& registry, SnapshotBuilder& builder,
                  const ManagerLog& log, std::function<void(const SourceEvent&)> on_source_event,
                  std::function<void(std::string_view, bool)> on_reload)
      : executor_(executor),
        registry_(registry),
        builder_(builder),
        log_(log),
        on_source_event_(std::move(on_source_event)),
        on_reload_(std::move(on_reload)) {}

  /// Watches, loads and adds `sources` to `e` with one publish (a fresh load
  /// of them all). On error nothing is added.
  [[nodiscard]] Status add(UpdateThread& t, Entry& e, std::vector<std::unique_ptr<Source>> sources);
  /// Removes source `name` and its layers. kNotFound if `e` has none.
  [[nodiscard]] Status remove(UpdateThread& t, Entry& e, std::string_view name);
  /// Reloads every source of `e` now; the first source error, if any.
  [[nodiscard]] Status reload_all(UpdateThread& t, Entry& e);
  /// After a publish no source made (update(), apply()): sources refused
  /// earlier are loaded again, since the new state may make them valid.
  void retry_refused(UpdateThread& t, Entry& e);
  /// Marks every source of every config due now and reloads them (identical
  /// content publishes nothing): the recovery after a failed update task.
  void resync(UpdateThread& t);
  /// ConfigManager::mark_healthy: remembers what e serves and which layers
  /// each source had, for revert().
  [[nodiscard]] static Status mark_healthy(UpdateThread& t, Entry& e, std::uint64_t generation);
  /// ConfigManager::revert: back to the healthy stack, quarantining the
  /// content of every source that changed since.
  [[nodiscard]] Result<std::uint64_t> revert(UpdateThread& t, Entry& e,
                                             const RevertOptions& options);
  /// Cancels every watch (before the executor stops: no watcher posts again).
  static void stop_watching(UpdateThread& t, Entry& e);

 private:
  struct Transition;
  struct PendingLoad;

  void signal(const std::string& config, std::uint64_t id);
  void on_timer(UpdateThread& t, const std::string& config, std::uint64_t id);
  void timer_at(Clock::TimePoint when, const std::string& config, std::uint64_t id);
  void reload(UpdateThread& t, Entry& e, const std::vector<SourceSlot*>& due);
  void apply_pending(UpdateThread& t, Entry& e, std::vector<PendingLoad>& ready,
                     std::vector<Transition>& transitions);
  void after_round(UpdateThread& t, Entry& e, std::vector<Transition>& transitions);
  void report_applied(UpdateThread& t, Entry& e, SourceSlot& s);
  void schedule_retry(UpdateThread& t, Entry& e, SourceSlot& s);
  void announce(UpdateThread& t, Entry& e, std::vector<Transition>& transitions);
  static void refresh_status(UpdateThread& t, Entry& e,
                             const std::vector<const SourceSlot*>* touched = nullptr);
  static void mark_due(UpdateThread& t, SourceSlot& s);

  UpdateExecutor& executor_;
  const Registry& registry_;
  SnapshotBuilder& builder_;
  const ManagerLog& log_;
  std::function<void(const SourceEvent&)> on_source_event_;
  std::function<void(std::string_view, bool)> on_reload_;
  void reload_hook(const Entry& e, bool begin) const;
  std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace liveconf::detail
