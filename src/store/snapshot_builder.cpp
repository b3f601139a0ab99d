#include "store/snapshot_builder.hpp"

#include <algorithm>
#include <chrono>
#include <span>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "base/exception_error.hpp"

namespace liveconf::detail {
namespace {

// Restart-required fields keep their running value in `merged`; returns the
// changes that wait for a restart.
std::vector<Change> hold_restart_fields(const Entry& e, const Snapshot& old, Value& merged) {
  std::vector<Change> pending;
  for (const KeyPath& p : e.restart_paths) {
    const Value* was = old.tree().find(p);
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
  return pending;
}

// Identical content publishes nothing: same version (a content hash, a
// revision) or, for unversioned layers, the same tree.
bool same_content(const Layer& live, const Layer& incoming) {
  return live.priority == incoming.priority && live.version == incoming.version &&
         (!incoming.version.empty() || live.data == incoming.data);
}

}  // namespace

namespace {

// True when some node of `v` has no origin source. Parsers give every node
// one, so a parsed layer is only read here: writing through it would copy
// every container its parser built in an arena (value.hpp, unshare()).
bool lacks_origin(const Value& v) noexcept {
  if (v.origin_info() == nullptr) {
    return true;
  }
  if (v.is_object()) {
    const Object& obj = v.as_object();
    return std::any_of(obj.begin(), obj.end(),
                       [](const Object::Entry& e) { return lacks_origin(e.second); });
  }
  if (v.is_array()) {
    const std::span<const Value> elements = v.as_array();
    return std::any_of(elements.begin(), elements.end(), lacks_origin);
  }
  return false;
}

void stamp_every_node(Value& v, const Origin& layer_origin) {
  if (v.origin().info() == nullptr) {
    v.set_origin(layer_origin.at(v.origin().line(), v.origin().column()));
  }
  if (v.is_object()) {
    Object& obj = v.as_object();
    for (std::size_t i = 0; i < obj.size(); ++i) {
      stamp_every_node(obj.value_at(i), layer_origin);
    }
  } else if (v.is_array()) {
    for (Value& e : v.as_array()) {
      stamp_every_node(e, layer_origin);
    }
  }
}

}  // namespace

// Gives every node without an origin the layer's name as its source, so
// provenance never comes back empty.
void SnapshotBuilder::stamp_origins(Value& v, const Origin& layer_origin) {
  if (lacks_origin(v)) {
    stamp_every_node(v, layer_origin);
  }
}

std::shared_ptr<const Layer> SnapshotBuilder::prepare_layer(Layer layer) {
  stamp_origins(layer.data, Origin::named(layer.name));
  return std::make_shared<const Layer>(std::move(layer));
}

Status SnapshotBuilder::rebuild(UpdateThread& t, Entry& e,
                                std::vector<std::shared_ptr<const Layer>> layers, bool same_order) {
  try {
    return rebuild_or_throw(t, e, std::move(layers), same_order);
  } catch (...) {
    return refuse(e, current_exception_error("while building the new configuration"));
  }
}

Status SnapshotBuilder::refuse(Entry& e, Error error) {
  SnapshotPtr old = e.cell->load();
  {
    MutexLock lk(e.stats_mu);
    ++e.stats.failures;
    e.stats.last_error = error;
  }
  log_(LogLevel::kError, "config \"" + e.name + "\": update refused, generation " +
                             std::to_string(old ? old->generation() : 0) +
                             " keeps serving: " + error.to_string());
  return error;
}

Status SnapshotBuilder::rebuild_or_throw(UpdateThread& t, Entry& e,
                                         std::vector<std::shared_ptr<const Layer>> layers,
                                         bool same_order, std::optional<RevertInfo> revert) {
  SnapshotPtr old = e.cell->load();
  Value merged = e.state.get(t).merge.merge(layers, *e.policies);
  Result<SnapshotPtr> built =
      make_snapshot(e, old, std::move(merged), std::move(layers), std::nullopt, std::move(revert));
  if (!built) {
    return refuse(e, std::move(built).error());
  }
  // From here on nothing allocates (but the pin's pending list, which may
  // fail alone), so the layers and the snapshot change together or not at all.
  SnapshotPtr snapshot = std::move(*built);
  EntryState& st = e.state.get(t);
  st.live = snapshot;
  if (!same_order) {
    st.positions.clear();
  }
  if (st.pin) {
    // Valid, and kept: the pin is served. unpin() publishes it.
    note_pending(e, st, *old);
    return ok_status();
  }
  publish(e, old, std::move(snapshot));
  return ok_status();
}

Result<SnapshotPtr> SnapshotBuilder::make_snapshot(Entry& e, const SnapshotPtr& old, Value merged,
                                                   std::vector<std::shared_ptr<const Layer>> layers,
                                                   std::optional<PinInfo> pin,
                                                   std::optional<RevertInfo> revert) {
  std::vector<Change> pending;
  if (old) {
    pending = hold_restart_fields(e, *old, merged);
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
    return report.status().error();
  }
  for (const Error& w : report.warnings) {
    const bool known = old && std::any_of(old->warnings().begin(), old->warnings().end(),
                                          [&](const Error& ow) { return ow.path() == w.path(); });
    if (!known) {
      log_(LogLevel::kWarning, "config \"" + e.name + "\": " + w.to_string());
    }
  }

  Snapshot::Parts parts;
  parts.config_name = e.name;
  parts.generation = old ? old->generation() + 1 : e.first_generation;
  parts.tree = std::move(merged);
  parts.layers = std::move(layers);
  parts.typed = std::move(typed);
  parts.type = e.binding.type;
  parts.sensitive = e.sensitive;
  parts.policies = e.policies;
  parts.warnings = std::move(report.warnings);
  parts.pending_restart = std::move(pending);
  parts.pin = std::move(pin);
  parts.revert = std::move(revert);
  parts.published_at = std::chrono::system_clock::now();
  return SnapshotRecycler::make(e.recycler, std::move(parts));
}

void SnapshotBuilder::publish(Entry& e, const SnapshotPtr& old, SnapshotPtr snapshot) {
  {
    // The swap happens under stats_mu, and status() reads the cell under it
    // too: whoever sees a generation served sees the counters that go with
    // it (a revert's healthy generation and rollback count).
    MutexLock lk(e.stats_mu);
    ++e.stats.publishes;
    e.stats.last_error.reset();
    if (snapshot->revert()) {
      // A revert serves the healthy content: it is the healthy generation.
      ++e.stats.rollbacks.by_health;
      e.stats.healthy_generation = snapshot->generation();
    }
    e.cell->publish(snapshot);  // `old` holds the previous tree: nothing is freed here
  }
  if (on_publish_) {
    try {
      on_publish_(old, snapshot);
    } catch (...) {
      log_(LogLevel::kWarning, current_exception_error("from on_publish").to_string());
    }
  }
  dispatcher_.mark_dirty(e);
}

void SnapshotBuilder::note_pending(Entry& e, const EntryState& st, const Snapshot& served) {
  std::vector<Change> pending;
  try {
    if (st.live) {
      pending = diff(served.tree(), st.live->tree(), DiffOptions{&e.sensitive, nullptr}).changes();
    }
  } catch (...) {
    log_(LogLevel::kWarning,
         current_exception_error("listing what waits behind the pin").to_string());
  }
  MutexLock lk(e.stats_mu);
  if (e.stats.pin) {
    e.stats.pin->pending = std::move(pending);
  }
}

Status SnapshotBuilder::pin(UpdateThread& t, Entry& e,
                            std::vector<std::shared_ptr<const Layer>> layers, PinStatus pin) {
  try {
    SnapshotPtr old = e.cell->load();
    std::vector<const Layer*> stack;
    stack.reserve(layers.size());
    for (const auto& l : layers) {
      stack.push_back(l.get());
    }
    // Not the incremental merge: that one follows the sources' stack, which
    // keeps changing behind the pin.
    Value merged = merge_layers(std::span<const Layer* const>(stack), *e.policies);
    Result<SnapshotPtr> built =
        make_snapshot(e, old, std::move(merged), std::move(layers),
                      PinInfo{pin.pinned_generation, pin.expires, pin.reason});
    if (!built) {
      return refuse(e, std::move(built).error());
    }
    EntryState& st = e.state.get(t);
    pin.served_generation = (*built)->generation();
    st.pin = PinState{++st.pin_counter};
    {
      MutexLock lk(e.stats_mu);
      e.stats.pin = std::move(pin);
    }
    publish(e, old, *built);
    note_pending(e, st, **built);
    return ok_status();
  } catch (...) {
    return refuse(e, current_exception_error("while pinning"));
  }
}

Status SnapshotBuilder::unpin(UpdateThread& t, Entry& e) {
  EntryState& st = e.state.get(t);
  if (!st.pin) {
    return Error(ErrorCode::kNotFound, "config \"" + e.name + "\" is not pinned");
  }
  st.pin.reset();
  {
    MutexLock lk(e.stats_mu);
    e.stats.pin.reset();
  }
  std::vector<std::shared_ptr<const Layer>> layers(st.layers().begin(), st.layers().end());
  return rebuild(t, e, std::move(layers), /*same_order=*/true);
}

Status SnapshotBuilder::revert(UpdateThread& t, Entry& e,
                               std::vector<std::shared_ptr<const Layer>> layers, RevertInfo info) {
  try {
    canonical_order(e.state.get(t), layers, {});
    return rebuild_or_throw(t, e, std::move(layers), /*same_order=*/false, std::move(info));
  } catch (...) {
    return refuse(e, current_exception_error("while reverting"));
  }
}

// Puts `layers` in the order a fresh load of the same sources gives:
// registration layers, then each source's layers in the order sources were
// added and, within a source, in the order its load returned them (a conf.d
// directory: lexical), then layers set by update()/apply() in the order they
// came. merge_layers() sorts by priority, stably, so this order decides
// between equal priorities. Without it a file added to a conf.d directory
// later would win over files that sort after it.
void SnapshotBuilder::canonical_order(const EntryState& st,
                                      std::vector<std::shared_ptr<const Layer>>& layers,
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
  for (std::size_t i = 0; i < st.sources.size(); ++i) {
    const SourceSlot* slot = st.sources[i].get();
    auto p = std::find_if(pending.begin(), pending.end(),
                          [&](const auto& entry) { return entry.first == slot; });
    rank_source(i, p == pending.end() ? slot->layer_names : *p->second);
  }
  // (No structured binding: clang 14, the fuzz build's compiler, cannot
  // capture one in a lambda.)
  for (const auto& entry : pending) {
    const bool listed = std::any_of(st.sources.begin(), st.sources.end(),
                                    [&](const auto& s) { return s.get() == entry.first; });
    if (!listed) {
      rank_source(st.sources.size(), *entry.second);  // being added: after every other source
    }
  }
  std::vector<std::pair<Rank, std::size_t>> keyed;
  keyed.reserve(layers.size());
  for (std::size_t i = 0; i < layers.size(); ++i) {
    auto it = ranks.find(layers[i]->name);
    Rank r = it != ranks.end() ? it->second
                               : Rank{st.base_layers.count(layers[i]->name) != 0 ? 0 : 2, 0, i};
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

// True when `batch` only replaces layers of the stack (nothing removed or
// added) and every source in `pending` keeps its layer names in order: the
// canonical order is then the one the stack has.
bool SnapshotBuilder::replaces_in_place(EntryState& st, const LayerBatch& batch,
                                        const PendingNames& pending) {
  if (!batch.remove.empty()) {
    return false;
  }
  for (const auto& entry : pending) {
    const bool listed = std::any_of(st.sources.begin(), st.sources.end(),
                                    [&](const auto& s) { return s.get() == entry.first; });
    if (!listed ||
        (entry.second != &entry.first->layer_names && *entry.second != entry.first->layer_names)) {
      return false;
    }
  }
  const auto& positions = layer_positions(st);
  return std::all_of(batch.set.begin(), batch.set.end(),
                     [&](const Layer& l) { return positions.count(l.name) != 0; });
}

// When `batch` only brings the layers of sources just added (the last
// entries of st.sources, all in `pending`) and the stack holds no layer set by
// update()/apply() (those rank after every source's), the canonical order is
// the stack followed by the new layers in their sources' order. Returns them
// in that order, or nothing when the general path must decide. This keeps
// adding one source to a stack of many proportional to that source's layers
// (a start-up with one add_source call per conf.d directory).
std::optional<std::vector<const Layer*>> SnapshotBuilder::appends_on_top(
    EntryState& st, const LayerBatch& batch, const PendingNames& pending) {
  if (!batch.remove.empty() || batch.set.empty() || pending.empty() ||
      pending.size() > st.sources.size()) {
    return std::nullopt;
  }
  const std::size_t first_new = st.sources.size() - pending.size();
  // Rank of each new layer name: (pending source, position in its names).
  std::unordered_map<std::string_view, std::pair<std::size_t, std::size_t>> ranks;
  for (std::size_t k = 0; k < pending.size(); ++k) {
    if (pending[k].first != st.sources[first_new + k].get()) {
      return std::nullopt;
    }
    const std::vector<std::string>& names = *pending[k].second;
    for (std::size_t j = 0; j < names.size(); ++j) {
      if (!ranks.emplace(names[j], std::pair{k, j}).second) {
        return std::nullopt;  // a name twice: the general path keeps the last
      }
    }
  }
  const auto& positions = layer_positions(st);
  std::vector<std::pair<std::pair<std::size_t, std::size_t>, const Layer*>> keyed;
  keyed.reserve(batch.set.size());
  for (const Layer& layer : batch.set) {
    auto it = ranks.find(layer.name);
    if (it == ranks.end() || positions.count(layer.name) != 0) {
      return std::nullopt;
    }
    keyed.emplace_back(it->second, &layer);
  }
  if (!st.layers().empty()) {
    // The stack is in canonical order, so it holds an update()/apply() layer
    // exactly when its last layer is one: neither a registration layer nor a
    // layer of an earlier source (searched from the last source, where a
    // stack without such layers finds it at once).
    const std::string& last = st.layers().back()->name;
    bool ranked = st.base_layers.count(last) != 0;
    for (std::size_t i = first_new; !ranked && i > 0; --i) {
      const std::vector<std::string>& names = st.sources[i - 1]->layer_names;
      ranked = std::find(names.rbegin(), names.rend(), last) != names.rend();
    }
    if (!ranked) {
      return std::nullopt;
    }
  }
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const Layer*> ordered;
  ordered.reserve(keyed.size());
  for (const auto& [rank, layer] : keyed) {
    ordered.push_back(layer);
  }
  return ordered;
}

Status SnapshotBuilder::apply_batch(UpdateThread& t, Entry& e, const LayerBatch& batch,
                                    const PendingNames& pending, bool owned) {
  EntryState& st = e.state.get(t);
  // A layer that goes into the stack: moved out of a batch the caller gave
  // up (not const: it was bound as an rvalue), copied out of a lent one.
  auto take = [owned](const Layer& layer) {
    return prepare_layer(owned ? Layer(std::move(const_cast<Layer&>(layer)))  // NOLINT
                               : Layer(layer));
  };
  if (std::optional<std::vector<const Layer*>> added = appends_on_top(st, batch, pending)) {
    const std::size_t before = st.layers().size();
    std::vector<std::shared_ptr<const Layer>> layers = e.recycler->copy_of(st.layers());
    layers.reserve(before + added->size());
    for (const Layer* layer : *added) {
      layers.push_back(take(*layer));
    }
    // Appending keeps every position: the name index grows rather than being rebuilt.
    Status status = rebuild(t, e, std::move(layers), /*same_order=*/true);
    if (status.ok() && !st.positions.empty()) {
      for (std::size_t i = before; i < st.layers().size(); ++i) {
        st.positions.emplace(st.layers()[i]->name, i);
      }
    }
    return status;
  }
  if (replaces_in_place(st, batch, pending)) {
    // The usual change (a file edited in a directory of many): the stack is
    // copied once and nothing is sorted or indexed again.
    const auto& positions = layer_positions(st);
    std::vector<std::pair<std::size_t, const Layer*>> replaced;
    for (const Layer& layer : batch.set) {
      const std::size_t i = positions.at(layer.name);
      if (!same_content(*st.layers()[i], layer)) {
        replaced.emplace_back(i, &layer);
      }
    }
    if (replaced.empty()) {
      return ok_status();
    }
    std::vector<std::shared_ptr<const Layer>> layers = e.recycler->copy_of(st.layers());
    for (auto& [i, layer] : replaced) {
      layers[i] = take(*layer);
    }
    return rebuild(t, e, std::move(layers), /*same_order=*/true);
  }
  std::vector<std::shared_ptr<const Layer>> layers = e.recycler->copy_of(st.layers());
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
  for (const Layer& layer : batch.set) {
    auto found = index.find(layer.name);
    auto it = found == index.end() ? layers.end()
                                   : layers.begin() + static_cast<std::ptrdiff_t>(found->second);
    if (it != layers.end()) {
      if (same_content(**it, layer)) {
        continue;
      }
      *it = take(layer);
    } else {
      layers.push_back(take(layer));
      index.emplace(layers.back()->name, layers.size() - 1);
    }
    changed = true;
  }
  std::vector<const Layer*> before;
  before.reserve(layers.size());
  for (const auto& l : layers) {
    before.push_back(l.get());
  }
  canonical_order(st, layers, pending);
  for (std::size_t i = 0; i < layers.size() && !changed; ++i) {
    changed = layers[i].get() != before[i];
  }
  if (!changed) {
    return ok_status();
  }
  return rebuild(t, e, std::move(layers));
}

}  // namespace liveconf::detail
