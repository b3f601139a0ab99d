// Builds a config's next snapshot aside and publishes it, or refuses it and
// leaves everything as it was: merge the layers by priority (in the order a
// fresh load would give), keep restart-required fields, bind to the type,
// validate, then one atomic swap. Update thread only (every call takes the
// UpdateThread proof).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "liveconf/store.hpp"

#include "store/config_entry.hpp"
#include "store/dispatcher.hpp"

namespace liveconf::detail {

/// Which layers each source is about to have, for sources whose new layers
/// are in the batch being applied (the others have their live layer_names).
using PendingNames = std::vector<std::pair<const SourceSlot*, const std::vector<std::string>*>>;

class SnapshotBuilder {
 public:
  using PublishHook = std::function<void(const SnapshotPtr&, const SnapshotPtr&)>;
  SnapshotBuilder(const ManagerLog& log, Dispatcher& dispatcher, const PublishHook& on_publish)
      : log_(log), dispatcher_(dispatcher), on_publish_(on_publish) {}

  /// Gives every node of `v` without an origin `layer_origin` (keeping its
  /// line and column), so provenance never comes back empty.
  static void stamp_origins(Value& v, const Origin& layer_origin);
  /// Gives the layer's nodes without an origin the layer's name, then freezes it.
  [[nodiscard]] static std::shared_ptr<const Layer> prepare_layer(Layer layer);

  /// Applies `batch` to a copy of e's layers; publishes only if something
  /// changed. An error leaves e as it was (the last good snapshot serves).
  /// Only the layers that change the stack are copied out of `batch`, so a
  /// caller that keeps the batch's layers (a load to retry if refused) lends
  /// them instead of copying them all.
  [[nodiscard]] Status apply(UpdateThread& t, Entry& e, const LayerBatch& batch,
                             const PendingNames& pending = {}) {
    return apply_batch(t, e, batch, pending, /*owned=*/false);
  }
  /// The same with a batch of the caller's that it gives up: the layers that
  /// go into the stack are moved out of it, not copied.
  [[nodiscard]] Status apply(UpdateThread& t, Entry& e, LayerBatch&& batch,
                             const PendingNames& pending = {}) {
    return apply_batch(t, e, batch, pending, /*owned=*/true);
  }
  /// Publishes `layers` as e's new stack, or refuses it (a validator, parser
  /// or allocation that throws refuses it like a failed validation).
  /// `same_order`: `layers` is e's stack with some layers replaced in place
  /// (its name index stays valid).
  [[nodiscard]] Status rebuild(UpdateThread& t, Entry& e,
                               std::vector<std::shared_ptr<const Layer>> layers,
                               bool same_order = false);
  /// Publishes `layers` (merged, bound, validated) as e's next generation and
  /// pins it: later rebuilds keep their result in EntryState::live (listed
  /// as `pending`) until unpin(). Refused like rebuild() if invalid.
  [[nodiscard]] Status pin(UpdateThread& t, Entry& e,
                           std::vector<std::shared_ptr<const Layer>> layers, PinStatus pin);
  /// Ends e's pin and publishes the sources' stack. kNotFound if not pinned.
  [[nodiscard]] Status unpin(UpdateThread& t, Entry& e);
  /// Publishes `layers` (in canonical order) as e's new stack with
  /// Snapshot::revert() set; refused like rebuild(). Not while pinned.
  [[nodiscard]] Status revert(UpdateThread& t, Entry& e,
                              std::vector<std::shared_ptr<const Layer>> layers, RevertInfo info);

 private:
  // `owned`: `batch` is an rvalue of the caller's (see apply), so its
  // layers may be moved from.
  Status apply_batch(UpdateThread& t, Entry& e, const LayerBatch& batch,
                     const PendingNames& pending, bool owned);
  Status rebuild_or_throw(UpdateThread& t, Entry& e,
                          std::vector<std::shared_ptr<const Layer>> layers, bool same_order,
                          std::optional<RevertInfo> revert = std::nullopt);
  // Holds restart fields, binds and validates `merged` into the snapshot
  // that would follow `old`; an error refuses it.
  Result<SnapshotPtr> make_snapshot(Entry& e, const SnapshotPtr& old, Value merged,
                                    std::vector<std::shared_ptr<const Layer>> layers,
                                    std::optional<PinInfo> pin = std::nullopt,
                                    std::optional<RevertInfo> revert = std::nullopt);
  // Swaps it in, counts it, calls on_publish, wakes the subscribers.
  void publish(Entry& e, const SnapshotPtr& old, SnapshotPtr snapshot);
  // What waits behind the pin: served -> st.live, into e's pin status.
  void note_pending(Entry& e, const EntryState& st, const Snapshot& served);
  static bool replaces_in_place(EntryState& st, const LayerBatch& batch,
                                const PendingNames& pending);
  static std::optional<std::vector<const Layer*>> appends_on_top(EntryState& st,
                                                                 const LayerBatch& batch,
                                                                 const PendingNames& pending);
  Status refuse(Entry& e, Error error);
  static void canonical_order(const EntryState& st,
                              std::vector<std::shared_ptr<const Layer>>& layers,
                              const PendingNames& pending);

  const ManagerLog& log_;
  Dispatcher& dispatcher_;
  const PublishHook& on_publish_;  // ManagerOptions::on_publish
};

}  // namespace liveconf::detail
