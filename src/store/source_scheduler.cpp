#include "store/source_scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "base/backoff.hpp"
#include "base/exception_error.hpp"

namespace liveconf::detail {
namespace {

// Source::load() with exceptions turned into errors.
Result<SourceLoad> guarded_load(Source& source) {
  try {
    return source.load();
  } catch (...) {
    return current_exception_error("while loading " + source.name());
  }
}

SourceSlot* find_slot(EntryState& st, std::uint64_t id) {
  for (auto& s : st.sources) {
    if (s->id == id) {
      return s.get();
    }
  }
  return nullptr;
}

std::size_t slot_index(const EntryState& st, const SourceSlot* slot) {
  for (std::size_t i = 0; i < st.sources.size(); ++i) {
    if (st.sources[i].get() == slot) {
      return i;
    }
  }
  return st.sources.size();
}

// True when `load` brings `s`'s layer names, in order: what a reload
// usually brings (a file of a conf.d directory edited).
bool same_names(const SourceSlot& s, const SourceLoad& load) {
  return std::equal(s.layer_names.begin(), s.layer_names.end(), load.layers.begin(),
                    load.layers.end(),
                    [](const std::string& n, const Layer& l) { return n == l.name; });
}

// Adds to `batch.remove` the layers of `s` that `load` no longer has (none
// when the names are the same: found without a lookup per name).
void add_removals(LayerBatch& batch, const SourceSlot& s, const SourceLoad& load) {
  if (same_names(s, load)) {
    return;
  }
  std::unordered_set<std::string_view> kept;
  kept.reserve(load.layers.size());
  for (const Layer& l : load.layers) {
    kept.insert(l.name);
  }
  for (const std::string& old : s.layer_names) {
    if (kept.count(old) == 0) {
      batch.remove.push_back(old);
    }
  }
}

// Adds to `batch` what makes `s`'s layers `load.layers`.
void add_to_batch(LayerBatch& batch, const SourceSlot& s, const SourceLoad& load) {
  batch.set.insert(batch.set.end(), load.layers.begin(), load.layers.end());
  add_removals(batch, s, load);
}

LayerBatch batch_for(const SourceSlot& s, const SourceLoad& load) {
  LayerBatch batch;
  add_to_batch(batch, s, load);
  return batch;
}

std::vector<std::string> names_of(const SourceLoad& load) {
  std::vector<std::string> names;
  names.reserve(load.layers.size());
  for (const Layer& l : load.layers) {
    names.push_back(l.name);
  }
  return names;
}

Clock::TimePoint due_time(const SourceSlot& s) {
  const Debounce d = s.source->debounce();
  return std::min(s.last_signal + d.quiet, s.first_signal + d.max_wait);
}

// Busy sources wait for their writer, up to max_wait after the first signal.
bool held_for_writer(const SourceSlot& s, Clock::TimePoint now) {
  return now < s.first_signal + s.source->debounce().max_wait && s.source->busy();
}

}  // namespace

// A source's state change: entered at once (enter_state), announced (log, event) after
// status() has been refreshed once for the whole round.
struct SourceScheduler::Transition {
  SourceSlot* slot;
  SourceState state;
  std::optional<Error> error;
  bool changed;

  static void enter_state(SourceSlot& s, SourceState state, std::optional<Error> error,
                          std::vector<Transition>& out) {
    const bool changed = s.state != state;
    if (changed) {
      s.state_since = std::chrono::system_clock::now();
    }
    s.state = state;
    s.last_error = error;
    out.push_back(Transition{&s, state, std::move(error), changed});
  }
};

// A source's newest load, waiting to go live.
struct SourceScheduler::PendingLoad {
  SourceSlot* slot;
  SourceLoad load;
  bool retried = false;  // a load refused earlier, tried again with this round
};

void SourceScheduler::mark_due(UpdateThread& t, SourceSlot& s) {
  const auto now = t.now();
  s.pending = true;
  s.first_signal = now - s.source->debounce().max_wait;
  s.last_signal = now - s.source->debounce().quiet;
}

void SourceScheduler::timer_at(Clock::TimePoint when, const std::string& config, std::uint64_t id) {
  executor_.post_at(when, [this, config, id](UpdateThread& t) { on_timer(t, config, id); });
}

// A watcher said a source may have changed (on its thread): debounce on ours.
void SourceScheduler::signal(const std::string& config, std::uint64_t id) {
  executor_.post([this, config, id](UpdateThread& t) {
    std::shared_ptr<Entry> e = registry_.find(config);
    SourceSlot* s = e ? find_slot(e->state.get(t), id) : nullptr;
    if (s == nullptr) {
      return;
    }
    const auto now = t.now();
    ++s->signals;
    s->last_signal = now;
    if (!s->pending) {
      s->first_signal = now;
      timer_at(now + s->source->debounce().quiet, config, id);
      s->pending = true;  // after timer_at: if that throws, the next signal retries
    } else if (s->held) {
      // Held for a writer: this signal is likely its close or rename, so look
      // again after the quiet period rather than at the slower re-check.
      timer_at(now + s->source->debounce().quiet, config, id);
      s->held = false;
    }
  });
}

void SourceScheduler::on_timer(UpdateThread& t, const std::string& config, std::uint64_t id) {
  std::shared_ptr<Entry> e = registry_.find(config);
  SourceSlot* s = e ? find_slot(e->state.get(t), id) : nullptr;
  if (s == nullptr || !s->pending) {
    return;
  }
  const auto now = t.now();
  if (now < due_time(*s)) {
    timer_at(due_time(*s), config, id);
    return;
  }
  if (held_for_writer(*s, now)) {
    // A new file is still being written: look again after a quiet period (its
    // IN_CLOSE_WRITE also signals), but never past max_wait.
    // One re-check timer at a time: an early look (see signal()) that finds
    // the writer still busy leaves the one already scheduled to run.
    const Debounce d = s->source->debounce();
    s->held = true;
    if (s->recheck_at <= now) {
      s->recheck_at = std::min(now + std::max(d.quiet, std::chrono::milliseconds(10)),
                               s->first_signal + d.max_wait);
      timer_at(s->recheck_at, config, id);
    }
    return;
  }
  s->held = false;
  // Every source of this config that is due reloads now, into one publish.
  // "Due" includes sources due within a short window: changes made together
  // to several sources (a file and an env var) end their quiet periods
  // microseconds apart, and should still publish once.
  constexpr std::chrono::milliseconds kCoalesceWindow{10};
  std::vector<SourceSlot*> due;
  for (auto& other : e->state.get(t).sources) {
    if (other->pending && due_time(*other) <= now + kCoalesceWindow &&
        !held_for_writer(*other, now)) {
      other->pending = false;
      other->held = false;
      due.push_back(other.get());
    }
  }
  reload(t, *e, due);
}

void SourceScheduler::reload_hook(const Entry& e, bool begin) const {
  if (!on_reload_) {
    return;
  }
  try {
    on_reload_(e.name, begin);
  } catch (...) {
    log_(LogLevel::kWarning, current_exception_error("from on_reload").to_string());
  }
}

void SourceScheduler::reload(UpdateThread& t, Entry& e, const std::vector<SourceSlot*>& due) {
  if (!due.empty()) {
    reload_hook(e, true);
  }
  // Load -> publish, for the reload_duration histogram (wall time on the
  // steady clock, whatever the manager's Clock: it measures work, not waits).
  const auto started = std::chrono::steady_clock::now();
  std::vector<PendingLoad> ready;
  std::vector<Transition> transitions;
  for (SourceSlot* s : due) {
    ++s->loads;
    Result<SourceLoad> r = guarded_load(*s->source);
    s->refused.reset();  // whatever it was, the newest load supersedes it
    if (!r) {
      ++s->failures;
      // Keep the last good layers; a vanished required file is "missing".
      const SourceState state =
          r.error().code() == ErrorCode::kNotFound ? SourceState::kMissing : SourceState::kError;
      Transition::enter_state(*s, state, std::move(r).error(), transitions);
      continue;
    }
    if (r->state == SourceState::kMissing) {
      Transition::enter_state(*s, SourceState::kMissing, std::nullopt, transitions);
      continue;
    }
    if (r->state == SourceState::kStale && r->layers.empty()) {
      // Unreachable: the last good layers keep serving (BEHAVIOUR 43).
      Transition::enter_state(*s, SourceState::kStale, std::move(r->problem), transitions);
      continue;
    }
    if (s->quarantine) {
      // Content that made the config unhealthy is not applied again (a touch,
      // a resync, the same ConfigMap again); anything else ends the quarantine.
      if (s->quarantine->matches(r->layers)) {
        if (s->state != SourceState::kError) {
          // Back from missing or stale with that content: refused again.
          Transition::enter_state(*s, SourceState::kError, s->quarantine->error, transitions);
        }
        continue;  // otherwise still kError with the quarantine's reason: no news
      }
      s->quarantine.reset();
    }
    // A stale source may still hand over the newest state it knows (a remote
    // mirror that was current when the connection dropped).
    ready.push_back(PendingLoad{s, std::move(*r)});
  }
  if (!ready.empty()) {
    // Sources refused earlier are tried again with these changes: a change
    // elsewhere (max raised in the environment) can make them valid (min in a
    // file), and a fresh load of the same sources would accept both.
    for (auto& other : e.state.get(t).sources) {
      const bool due_now = std::find(due.begin(), due.end(), other.get()) != due.end();
      // Not one with a newer change on its way: its reload brings that.
      if (!due_now && other->refused && !other->pending) {
        ready.push_back(PendingLoad{other.get(), *other->refused, true});
      }
    }
    const std::uint64_t generation_before = e.cell->generation();
    apply_pending(t, e, ready, transitions);
    if (e.cell->generation() != generation_before) {
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
      MutexLock lk(e.stats_mu);
      e.stats.reload_duration.observe(took.count());
    }
  }
  after_round(t, e, transitions);
  if (!due.empty()) {
    reload_hook(e, false);
  }
}

// Makes the ready loads live: all together if they bind (one publish), or
// else source by source so the good ones still go live and each bad one is
// named (its load kept in `refused` for the next round).
void SourceScheduler::apply_pending(UpdateThread& t, Entry& e, std::vector<PendingLoad>& ready,
                                    std::vector<Transition>& transitions) {
  // `names`: the load's layer names, or null when they are the slot's already.
  auto accept = [&](PendingLoad& r, std::vector<std::string>* names) {
    if (names != nullptr) {
      r.slot->layer_names = std::move(*names);
    }
    r.slot->refused.reset();
    r.slot->last_success = std::chrono::system_clock::now();
    Transition::enter_state(*r.slot, r.load.state, std::move(r.load.problem), transitions);
    if (r.load.report_applied) {
      report_applied(t, e, *r.slot);
    }
  };
  auto reject = [&](PendingLoad& r, const Error& error) {
    const bool same =
        r.retried && r.slot->last_error && r.slot->last_error->to_string() == error.to_string();
    r.slot->refused = r.load;
    if (!r.retried) {
      ++r.slot->failures;
    }
    if (!same) {  // a retry refused for the same reason again is no news
      Transition::enter_state(*r.slot, SourceState::kError, error, transitions);
    }
  };
  {
    // The loads lend their layers to the batch (apply copies only those
    // that change the stack) and get them back, to keep if refused.
    LayerBatch combined;
    PendingNames names;
    std::vector<std::optional<std::vector<std::string>>> keep(ready.size());
    for (std::size_t i = 0; i < ready.size(); ++i) {
      PendingLoad& r = ready[i];
      add_removals(combined, *r.slot, r.load);
      if (!same_names(*r.slot, r.load)) {
        keep[i] = names_of(r.load);
      }
      names.emplace_back(r.slot, keep[i] ? &*keep[i] : &r.slot->layer_names);
      std::move(r.load.layers.begin(), r.load.layers.end(), std::back_inserter(combined.set));
    }
    Status st = builder_.apply(t, e, combined, names);
    auto lent = combined.set.begin();
    for (PendingLoad& r : ready) {
      for (Layer& layer : r.load.layers) {
        layer = std::move(*lent++);
      }
    }
    if (st.ok()) {
      for (std::size_t i = 0; i < ready.size(); ++i) {
        accept(ready[i], keep[i] ? &*keep[i] : nullptr);
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
  const EntryState& st = e.state.get(t);
  std::sort(ready.begin(), ready.end(), [&](const PendingLoad& a, const PendingLoad& b) {
    return slot_index(st, a.slot) < slot_index(st, b.slot);
  });
  std::vector<PendingLoad*> left;
  for (PendingLoad& r : ready) {
    left.push_back(&r);
  }
  std::vector<std::optional<Error>> why(ready.size());
  bool progress = true;
  while (progress && !left.empty()) {
    progress = false;
    for (auto it = left.begin(); it != left.end();) {
      PendingLoad& r = **it;
      std::vector<std::string> names = names_of(r.load);
      Status one = builder_.apply(t, e, batch_for(*r.slot, r.load), {{r.slot, &names}});
      if (one.ok()) {
        accept(r, &names);
        it = left.erase(it);
        progress = true;
      } else {
        why[static_cast<std::size_t>(&r - ready.data())] = one.error();
        ++it;
      }
    }
  }
  for (PendingLoad* r : left) {
    reject(*r, *why[static_cast<std::size_t>(r - ready.data())]);
  }
}

// Source::applied with the slot's layers as the live stack holds them.
void SourceScheduler::report_applied(UpdateThread& t, Entry& e, SourceSlot& s) {
  EntryState& st = e.state.get(t);
  const auto& positions = layer_positions(st);
  std::vector<std::shared_ptr<const Layer>> layers;
  layers.reserve(s.layer_names.size());
  for (const std::string& name : s.layer_names) {
    if (auto it = positions.find(name); it != positions.end()) {
      layers.push_back(st.layers()[it->second]);
    }
  }
  try {
    s.source->applied(layers);
  } catch (...) {
    log_(LogLevel::kWarning,
         current_exception_error("from " + s.source->name() + " applied()").to_string());
  }
}

// Retries, then status and announcements, after a round of loads.
void SourceScheduler::after_round(UpdateThread& t, Entry& e, std::vector<Transition>& transitions) {
  for (const Transition& tr : transitions) {
    if (tr.state == SourceState::kError && tr.error &&
        tr.error->code() == ErrorCode::kUnavailable) {
      schedule_retry(t, e, *tr.slot);
    } else if (tr.state == SourceState::kOk) {
      tr.slot->retries = 0;
      ++tr.slot->retry_token;  // cancels a retry still scheduled
    }
  }
  announce(t, e, transitions);
}

void SourceScheduler::retry_refused(UpdateThread& t, Entry& e) {
  bool any = false;
  for (auto& s : e.state.get(t).sources) {
    if (s->refused && !s->pending) {
      mark_due(t, *s);
      any = true;
    }
  }
  for (auto& s : e.state.get(t).sources) {
    if (any && s->refused) {
      executor_.post(
          [this, config = e.name, id = s->id](UpdateThread& next) { on_timer(next, config, id); });
      break;  // on_timer reloads every due source of the config
    }
  }
}

// A transient failure (EIO, out of memory): reload the source again after a
// backoff even though nothing signals a change (nothing on disk changed).
void SourceScheduler::schedule_retry(UpdateThread& t, Entry& e, SourceSlot& s) {
  const std::chrono::milliseconds delay = backoff(s.source->debounce().quiet, s.retries);
  ++s.retries;
  const std::uint64_t token = ++s.retry_token;
  executor_.post_at(t.now() + delay, [this, config = e.name, id = s.id, token](UpdateThread& u) {
    std::shared_ptr<Entry> entry = registry_.find(config);
    SourceSlot* slot = entry ? find_slot(entry->state.get(u), id) : nullptr;
    if (slot == nullptr || slot->retry_token != token || slot->pending) {
      return;  // gone, recovered, or a reload is coming anyway
    }
    mark_due(u, *slot);
    on_timer(u, config, id);
  });
}

// Rebuilds the sources' status; a slot's layer list only when it is in
// `touched` (its layers can only have changed if it loaded this round), or
// for every slot when `touched` is null or the sources changed.
void SourceScheduler::refresh_status(UpdateThread& t, Entry& e,
                                     const std::vector<const SourceSlot*>* touched) {
  EntryState& st = e.state.get(t);
  MutexLock lk(e.stats_mu);
  std::vector<SourceStatus>& all = e.stats.sources;
  // Sources added at the end (add()) leave the others' status as it was:
  // only the new ones are filled in, however many came before.
  const std::size_t known = all.size();
  bool full = touched == nullptr || known > st.sources.size();
  for (std::size_t i = 0; !full && i < known; ++i) {
    full = all[i].name != st.sources[i]->source->name();
  }
  // A full refresh follows a change of the stack's order (a source added or
  // removed), when the stack's name index is gone: a map of views, built
  // here, costs less than the index would.
  std::unordered_map<std::string_view, std::size_t> views;
  if (full) {
    all.assign(st.sources.size(), SourceStatus{});
  } else {
    all.resize(st.sources.size());
  }
  if (full) {
    views.reserve(st.layers().size());
    for (std::size_t i = 0; i < st.layers().size(); ++i) {
      views.emplace(st.layers()[i]->name, i);
    }
  }
  auto position = [&](const std::string& name) -> std::optional<std::size_t> {
    if (full) {
      auto it = views.find(name);
      return it == views.end() ? std::nullopt : std::optional<std::size_t>(it->second);
    }
    const auto& positions = layer_positions(st);
    auto it = positions.find(name);
    return it == positions.end() ? std::nullopt : std::optional<std::size_t>(it->second);
  };
  for (std::size_t i = 0; i < st.sources.size(); ++i) {
    const SourceSlot& s = *st.sources[i];
    SourceStatus& status = all[i];
    status.state = s.state;
    status.last_error = s.last_error;
    status.loads = s.loads;
    status.failures = s.failures;
    status.signals = s.signals;
    status.last_success = s.last_success;
    status.state_since = s.state_since;
    if (!full && i < known && std::find(touched->begin(), touched->end(), &s) == touched->end()) {
      continue;
    }
    status.name = s.source->name();
    // Written over in place: a reload of a 100-file directory keeps its
    // names, and assigning a string into one as long allocates nothing.
    std::size_t k = 0;
    for (const std::string& n : s.layer_names) {
      if (auto at = position(n)) {
        const Layer& live = *st.layers()[*at];
        if (k == status.layers.size()) {
          status.layers.emplace_back();
        }
        LayerVersion& lv = status.layers[k++];
        lv.name = n;
        lv.priority = live.priority;
        lv.version = live.version;
      }
    }
    status.layers.resize(k);
  }
}

void SourceScheduler::announce(UpdateThread& t, Entry& e, std::vector<Transition>& transitions) {
  std::vector<const SourceSlot*> touched;
  touched.reserve(transitions.size());
  for (const Transition& tr : transitions) {
    touched.push_back(tr.slot);
  }
  refresh_status(t, e, &touched);
  SnapshotPtr current = e.cell->load();
  const std::uint64_t generation = current ? current->generation() : 0;
  for (Transition& tr : transitions) {
    if (tr.error) {
      log_(tr.state == SourceState::kMissing || tr.state == SourceState::kStale ? LogLevel::kWarning
                                                                                : LogLevel::kError,
           "config \"" + e.name + "\": source " + tr.slot->source->name() + " is " +
               std::string(source_state_name(tr.state)) + ": " + tr.error->to_string() +
               (tr.error->code() == ErrorCode::kUnavailable && tr.state == SourceState::kError
                    ? "; retrying"
                    : "") +
               "; generation " + std::to_string(generation) + " keeps serving");
    }
    if ((tr.changed || tr.error) && on_source_event_) {
      try {
        on_source_event_(SourceEvent{e.name, tr.slot->source->name(), tr.state, std::move(tr.error),
                                     generation});
      } catch (...) {
        log_(LogLevel::kWarning, current_exception_error("from on_source_event").to_string());
      }
    }
  }
}

void SourceScheduler::resync(UpdateThread& t) {
  std::vector<std::shared_ptr<Entry>> all = registry_.all();
  for (const auto& e : all) {
    for (auto& s : e->state.get(t).sources) {
      try {
        s->source->rescan();
      } catch (...) {
        log_(LogLevel::kWarning,
             current_exception_error("from " + s->source->name() + " rescan()").to_string());
      }
      mark_due(t, *s);
    }
  }
  for (const auto& e : all) {
    const EntryState& st = e->state.get(t);
    if (!st.sources.empty()) {
      on_timer(t, e->name, st.sources.front()->id);
    }
  }
}

void SourceScheduler::stop_watching(UpdateThread& t, Entry& e) {
  for (auto& slot : e.state.get(t).sources) {
    slot->watch.cancel();
  }
}

Status SourceScheduler::add(UpdateThread& t, Entry& e,
                            std::vector<std::unique_ptr<Source>> sources) {
  EntryState& st = e.state.get(t);
  std::vector<std::unique_ptr<SourceSlot>> slots;
  for (auto& source : sources) {
    auto slot = std::make_unique<SourceSlot>();
    slot->id = next_id_.fetch_add(1);
    slot->source = std::move(source);
    // Watch before the first load, so a change made during the load is not
    // missed: its signal queues behind this task and reloads (a no-op if the
    // bytes are the same).
    Result<WatchHandle> watch =
        slot->source->watch([this, config = e.name, id = slot->id] { signal(config, id); });
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
      // An optional source that is not there (or, remote, not reachable yet)
      // contributes nothing until a later load succeeds; a remote one that
      // has a last-good copy (the etcd source's offline cache) serves it,
      // stale.
      slot->state = loaded->state;
      slot->last_error = std::move(loaded->problem);
      if (loaded->state == SourceState::kMissing) {
        loaded->layers.clear();
      }
    }
    loads.push_back(std::move(*loaded));
  }
  const std::size_t first = st.sources.size();
  LayerBatch batch;
  std::vector<std::vector<std::string>> names;
  names.reserve(slots.size());
  PendingNames pending;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    add_to_batch(batch, *slots[i], loads[i]);
    names.push_back(names_of(loads[i]));
    pending.emplace_back(slots[i].get(), &names.back());
  }
  // New layer names only (the usual case): the other sources' layers stay as
  // they were, so only the new sources' status needs filling in below.
  const auto& positions = layer_positions(st);
  const bool disjoint = std::none_of(batch.set.begin(), batch.set.end(),
                                     [&](const Layer& l) { return positions.count(l.name) != 0; });
  std::vector<const SourceSlot*> added;
  for (auto& slot : slots) {
    added.push_back(slot.get());
    st.sources.push_back(std::move(slot));  // ranked in this order
  }
  Status applied = builder_.apply(t, e, std::move(batch), pending);
  if (!applied.ok()) {
    st.sources.erase(st.sources.begin() + static_cast<std::ptrdiff_t>(first), st.sources.end());
    return applied;
  }
  const auto now = std::chrono::system_clock::now();
  for (std::size_t i = 0; i < names.size(); ++i) {
    SourceSlot& slot = *st.sources[first + i];
    slot.layer_names = std::move(names[i]);
    if (slot.state == SourceState::kOk) {
      slot.last_success = now;
    }
    if (loads[i].report_applied) {
      report_applied(t, e, slot);
    }
  }
  refresh_status(t, e, disjoint ? &added : nullptr);
  retry_refused(t, e);
  return ok_status();
}

Status SourceScheduler::remove(UpdateThread& t, Entry& e, std::string_view name) {
  EntryState& st = e.state.get(t);
  auto it = std::find_if(st.sources.begin(), st.sources.end(),
                         [&](const auto& s) { return s->source->name() == name; });
  if (it == st.sources.end()) {
    return Error(ErrorCode::kNotFound,
                 "config \"" + e.name + "\" has no source named " + std::string(name));
  }
  (*it)->watch.cancel();
  LayerBatch batch;
  batch.remove = (*it)->layer_names;
  st.sources.erase(it);
  Status applied = builder_.apply(t, e, std::move(batch));
  if (applied.ok()) {
    retry_refused(t, e);
  }
  refresh_status(t, e);
  return applied;
}

Status SourceScheduler::mark_healthy(UpdateThread& t, Entry& e, std::uint64_t generation) {
  EntryState& st = e.state.get(t);
  if (st.pin) {
    return Error(ErrorCode::kFailedPrecondition,
                 "config \"" + e.name + "\" is pinned: a pinned generation is not health-checked");
  }
  SnapshotPtr served = e.cell->load();
  if (!served || served->generation() != generation) {
    return Error(ErrorCode::kFailedPrecondition,
                 "config \"" + e.name + "\": generation " + std::to_string(generation) +
                     " is no longer served (generation " +
                     std::to_string(served ? served->generation() : 0) + " is)");
  }
  EntryState::Healthy healthy;
  healthy.snapshot = std::move(served);
  for (const auto& s : st.sources) {
    healthy.source_layers.emplace(s->id, s->layer_names);
  }
  st.healthy = std::move(healthy);
  MutexLock lk(e.stats_mu);
  e.stats.healthy_generation = generation;
  return ok_status();
}

Result<std::uint64_t> SourceScheduler::revert(UpdateThread& t, Entry& e,
                                              const RevertOptions& options) {
  EntryState& st = e.state.get(t);
  const std::string config = "config \"" + e.name + "\"";
  if (st.pin) {
    return Error(ErrorCode::kFailedPrecondition, config + " is pinned: unpin it first");
  }
  if (!st.healthy) {
    return Error(ErrorCode::kFailedPrecondition,
                 config + ": no generation has passed its health bake yet, nothing to go back to");
  }
  SnapshotPtr served = e.cell->load();
  const std::uint64_t from = served->generation();
  if (options.from_generation != 0 && options.from_generation != from) {
    return Error(ErrorCode::kFailedPrecondition,
                 config + ": generation " + std::to_string(options.from_generation) +
                     " is no longer served (generation " + std::to_string(from) + " is)");
  }
  const Snapshot& healthy = *st.healthy->snapshot;
  if (from == healthy.generation()) {
    return Error(ErrorCode::kFailedPrecondition,
                 config + ": generation " + std::to_string(from) +
                     " is the last healthy one, nothing to go back to");
  }
  std::unordered_map<std::string_view, const std::shared_ptr<const Layer>*> healthy_layers;
  for (const auto& l : healthy.layers()) {
    healthy_layers.emplace(l->name, &l);
  }
  std::unordered_map<std::string_view, const std::shared_ptr<const Layer>*> live_layers;
  for (const auto& l : st.layers()) {
    live_layers.emplace(l->name, &l);
  }
  // Which sources changed since, and what each had then (a source added since
  // had nothing). Layers of sources removed since stay out.
  struct Reverted {
    SourceSlot* slot;
    std::vector<std::string> names;                     // its layers then
    std::vector<std::shared_ptr<const Layer>> content;  // its layers now
  };
  std::vector<Reverted> reverted;
  std::unordered_set<std::string_view> owned_then;
  for (const auto& [id, names] : st.healthy->source_layers) {
    owned_then.insert(names.begin(), names.end());
  }
  for (auto& s : st.sources) {
    auto then = st.healthy->source_layers.find(s->id);
    std::vector<std::string> names =
        then == st.healthy->source_layers.end() ? std::vector<std::string>() : then->second;
    bool same = names == s->layer_names;
    for (std::size_t i = 0; same && i < names.size(); ++i) {
      auto h = healthy_layers.find(names[i]);
      auto l = live_layers.find(names[i]);
      same = h != healthy_layers.end() && l != live_layers.end() &&
             (*h->second)->version == (*l->second)->version &&
             (*h->second)->data == (*l->second)->data;
    }
    if (!same) {
      Reverted r{s.get(), std::move(names), {}};
      for (const std::string& n : s->layer_names) {
        if (auto l = live_layers.find(n); l != live_layers.end()) {
          r.content.push_back(*l->second);
        }
      }
      reverted.push_back(std::move(r));
    }
  }
  std::vector<std::shared_ptr<const Layer>> layers;
  for (const auto& l : healthy.layers()) {
    // A layer a source had then comes back only if that source still exists.
    const bool removed_source = owned_then.count(l->name) != 0 && [&] {
      for (const auto& s : st.sources) {
        auto then = st.healthy->source_layers.find(s->id);
        if (then != st.healthy->source_layers.end() &&
            std::find(then->second.begin(), then->second.end(), l->name) != then->second.end()) {
          return false;
        }
      }
      return true;
    }();
    if (!removed_source) {
      layers.push_back(l);
    }
  }
  RevertInfo info;
  info.from = from;
  info.to = healthy.generation();
  info.reason = options.reason;
  for (const Reverted& r : reverted) {
    info.quarantined.push_back(r.slot->source->name());
  }
  // The sources' layer names as they were then (canonical order reads them);
  // put back if the build is refused.
  std::vector<std::vector<std::string>> before;
  before.reserve(reverted.size());
  for (Reverted& r : reverted) {
    before.push_back(r.slot->layer_names);
    r.slot->layer_names = r.names;
  }
  Status built = builder_.revert(t, e, std::move(layers), info);
  if (!built.ok()) {
    for (std::size_t i = 0; i < reverted.size(); ++i) {
      reverted[i].slot->layer_names = std::move(before[i]);
    }
    return built.error();
  }
  const std::uint64_t to_generation = e.cell->generation();
  // The revert serves the healthy content: it is the healthy generation now
  // (with the sources that remain).
  st.healthy->snapshot = e.cell->load();
  st.healthy->source_layers.clear();
  for (const auto& s : st.sources) {
    st.healthy->source_layers.emplace(s->id, s->layer_names);
  }
  std::vector<Transition> transitions;
  for (Reverted& r : reverted) {
    Error why(ErrorCode::kFailedPrecondition,
              r.slot->source->name() + ": its content made generation " + std::to_string(from) +
                  " unhealthy (" + options.reason + "); reverted to the content of generation " +
                  std::to_string(info.to) +
                  ", and this content is not applied again until it changes");
    r.slot->quarantine = SourceSlot::Quarantine{std::move(r.content), why};
    r.slot->refused.reset();
    Transition::enter_state(*r.slot, SourceState::kError, std::move(why), transitions);
  }
  log_(LogLevel::kError, config + ": generation " + std::to_string(from) + " turned unhealthy (" +
                             options.reason + "); reverted to the content of generation " +
                             std::to_string(info.to) + " as generation " +
                             std::to_string(to_generation));
  refresh_status(t, e);
  announce(t, e, transitions);
  return to_generation;
}

Status SourceScheduler::reload_all(UpdateThread& t, Entry& e) {
  std::vector<SourceSlot*> all;
  for (auto& s : e.state.get(t).sources) {
    s->pending = false;  // this reload covers any signal waiting out its debounce
    s->held = false;
    all.push_back(s.get());
  }
  reload(t, e, all);
  for (const auto& s : e.state.get(t).sources) {
    if (s->state == SourceState::kError && s->last_error) {
      return *s->last_error;
    }
  }
  return ok_status();
}

}  // namespace liveconf::detail
