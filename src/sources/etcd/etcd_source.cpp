// The etcd source: a session thread keeps a mirror of the keys under a
// prefix (list at one revision, then watch from the next), and load() turns
// the mirror into a layer on the manager's update thread.
//
// Session loop (one thread per source):
//   connect -> first time: list; later: probe (is the mirror still the
//   prefix? then fast-forward its revision; else resume, or list when the
//   resume point is known compacted) -> watch from revision+1
//   -> apply each watch response to the mirror whole, signal the manager
//   -> on any stream end: mark stale, signal, back off (jittered), resume.
// The source reports itself connected (ok) only when its mirror is known
// current: after a listing or a probe that matched, or, when resuming from
// an older revision, once the watch delivers its first events (etcd sends a
// watch's `created` before it finds the start revision compacted).
// The watch stream uses gRPC's completion-queue API so one thread can wait
// for a response *or* a heartbeat deadline: a server that stops answering
// progress requests (SIGSTOP, a partition) is detected without a second
// thread and without relying on TCP.
//
// Why one file of ~900 lines: the session (list, probe, watch stream) and the
// mirror it feeds share one lock and one set of invariants (revision_,
// listed_, connected_, the empty grace), which the comments above state once.
// Split along a line, each half would need EtcdSource's private state in a
// header and the invariants restated in two places. The parts that do stand
// alone already live elsewhere: key/value mapping (etcd_mapping.cpp), the
// channel and per-call metadata (etcd_rpc.cpp), the client (etcd_client.cpp).
#include <algorithm>
#include <condition_variable>
#include <random>
#include <thread>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "liveconf/etcd.hpp"

#include "base/clock_condition.hpp"
#include "base/mutex.hpp"
#include "base/stop_contract.hpp"
#include "sources/etcd/etcd_cache.hpp"
#include "sources/etcd/etcd_mapping.hpp"
#include "sources/etcd/etcd_rpc.hpp"
#include "sources/etcd/etcd_source_hooks.hpp"

namespace liveconf {
namespace {

using SteadyClock = std::chrono::steady_clock;
using detail::EtcdEntry;
using detail::EtcdMirror;
using detail::MutexLock;

// A compaction reported by the server ends the stream; relisting is the
// remedy, not a reason to back off.
struct StreamEnd {
  Error error;
  bool retry_now = false;      // compacted (or a resume that never confirmed): no backoff
  bool watch_created = false;  // the server confirmed the watch: reset the backoff
};

// What a reconnect's probe found (EtcdSource::probe).
enum class Resume : std::uint8_t {
  kCurrent,  // the mirror is the prefix at the probe's revision: watch from there
  kBehind,   // the prefix changed since the mirror's revision: replay from it
  kRelist,   // the server's history is behind ours (restored from a backup)
};

class EtcdSource final : public Source {
 public:
  EtcdSource(EtcdSourceOptions options, std::unique_ptr<detail::EtcdRpc> rpc, const Format* format,
             std::unique_ptr<detail::EtcdCache> cache)
      : options_(std::move(options)),
        rpc_(std::move(rpc)),
        format_(format),
        cache_(std::move(cache)),
        clock_(options_.clock ? options_.clock : steady_clock_source()) {
    options_.prefix = canonical_prefix(options_);
    if (options_.layout == EtcdLayout::kTree) {
      range_end_ = detail::etcd_prefix_end(options_.prefix);
    }
    name_ = options_.name.empty() ? "etcd:" + options_.prefix : options_.name;
  }

  /// The prefix as the source reads it ("/" appended for the tree layout).
  static std::string canonical_prefix(const EtcdSourceOptions& o) {
    return o.layout == EtcdLayout::kTree ? detail::etcd_tree_prefix(o.prefix) : o.prefix;
  }
  /// What the offline cache records it is a copy of.
  static std::string cache_identity(const EtcdSourceOptions& o) {
    return std::string(o.layout == EtcdLayout::kTree ? "etcd prefix " : "etcd document ") +
           canonical_prefix(o);
  }
  ~EtcdSource() override { stop(); }
  EtcdSource(const EtcdSource&) = delete;
  EtcdSource& operator=(const EtcdSource&) = delete;

  [[nodiscard]] const std::string& name() const noexcept override { return name_; }
  [[nodiscard]] Debounce debounce() const noexcept override { return options_.debounce; }

  [[nodiscard]] Result<WatchHandle> watch(std::function<void()> changed) override {
    {
      MutexLock lk(mu_);
      changed_ = std::move(changed);
    }
    start();
    return WatchHandle([this] { stop(); });
  }

  /// While the prefix has just emptied, the reload waits (up to max_wait):
  /// the re-puts of a delete-then-put burst usually follow within it.
  [[nodiscard]] bool busy() const override {
    MutexLock lk(mu_);
    return in_empty_grace(clock_->now());
  }

  /// On add_source's calling thread: start the session and wait (up to
  /// initial_timeout) for the first complete listing, so load() never waits.
  /// With an offline cache, a failed connection (refused, reset, TLS: the
  /// channel says so within milliseconds) or a failed first attempt ends the
  /// wait: the cache serves at once. A server that does not answer at all
  /// (dropped packets) is waited for up to initial_timeout, as without one.
  void wait_ready() override {
    start();
    const auto deadline = SteadyClock::now() + options_.initial_timeout;
    const bool cached = cache_ != nullptr && cache_->initial().has_value();
    auto ready = [&]() LIVECONF_REQUIRES(mu_) {
      return listed_ || stopping_ || (cached && attempt_failed_);
    };
    while (cached) {
      {
        MutexLock lk(mu_);
        if (ready() || SteadyClock::now() >= deadline) {
          break;
        }
      }
      if (rpc_->connect_failed(std::chrono::milliseconds(20))) {
        MutexLock lk(mu_);
        attempt_failed_ = true;  // the session's own attempt may still be waiting
        break;
      }
    }
    MutexLock lk(mu_);
    lk.wait_until(cv_, deadline, ready);
    waited_ = true;
  }

  /// On the update thread: never waits. Before the first listing the source
  /// is stale (optional) or unavailable (required).
  [[nodiscard]] Result<SourceLoad> load() override {
    start();  // for a caller that skipped wait_ready()
    MutexLock lk(mu_);
    if (!listed_) {
      const std::string cause =
          waited_ && !attempt_failed_
              ? "no answer within " + std::to_string(options_.initial_timeout.count()) + " ms"
              : options_.prefix + " not listed yet";
      Error why = problem_.value_or(
          Error(ErrorCode::kUnavailable, "etcd at " + rpc_->endpoints() + ": " + cause));
      if (cache_ != nullptr && cache_->initial()) {
        // Offline boot: the last content the config took in, until etcd answers.
        const detail::CachedLayer& c = *cache_->initial();
        SourceLoad out;
        out.layers.push_back(c.layer);
        out.report_applied = true;
        built_version_ = c.layer.version;
        built_revision_ = c.revision;
        out.state = SourceState::kStale;
        out.problem =
            Error(why.code(), why.message() + "; serving the cache " + cache_->file().string() +
                                  " of revision " + std::to_string(c.revision));
        stats_.serving_cache = true;
        return out;
      }
      if (cache_ != nullptr && cache_->refusal()) {
        why = Error(why.code(), why.message() + "; and the " + cache_->refusal()->message());
      }
      if (options_.optional) {
        SourceLoad out;
        out.state = SourceState::kStale;
        out.problem = std::move(why);
        return out;
      }
      return why;
    }
    SourceLoad out;
    Result<Layer> layer = build_layer(clock_->now());
    if (!layer) {
      return std::move(layer).error();
    }
    stats_.serving_cache = false;
    // The mirror is the prefix at revision_ (listed, then kept by the
    // watch): once the config takes it in, applied() records that revision
    // (EtcdSourceStats::applied_revision, the fleet report) and caches it.
    out.report_applied = true;
    built_version_ = layer->version;
    built_revision_ = revision_;
    out.layers.push_back(std::move(*layer));
    if (!connected_) {
      // The mirror is the newest consistent state we know; the manager keeps
      // serving it and reports the source stale (BEHAVIOUR 43).
      out.state = SourceState::kStale;
      out.problem = problem_;
    }
    return out;
  }

  /// On the update thread: the config took in a load; the cache gets it.
  void applied(std::span<const std::shared_ptr<const Layer>> layers) override {
    if (layers.size() != 1) {
      return;
    }
    std::int64_t revision;
    {
      MutexLock lk(mu_);
      revision = layers[0]->version == built_version_ ? built_revision_ : revision_;
      stats_.applied_revision = revision;
    }
    if (cache_ != nullptr) {
      cache_->submit(layers[0], revision);
    }
  }

  [[nodiscard]] EtcdSourceStats stats() const {
    EtcdSourceStats out;
    {
      MutexLock lk(mu_);
      out = stats_;
    }
    if (cache_ != nullptr) {
      const detail::EtcdCache::Stats c = cache_->stats();
      out.cache_revision = c.revision;
      out.cache_writes = c.writes;
      out.cache_error = c.error;
    }
    return out;
  }

  void set_hooks_for_test(detail::EtcdSourceHooks hooks) {
    MutexLock lk(mu_);
    hooks_ = std::move(hooks);
  }

 private:
  // ---- load side (update thread) ------------------------------------------

  [[nodiscard]] bool in_empty_grace(SteadyClock::time_point now) const LIVECONF_REQUIRES(mu_) {
    return mirror_.empty() && last_nonempty_ && now < empty_since_ + options_.empty_grace;
  }

  Result<Layer> build_layer(SteadyClock::time_point now) LIVECONF_REQUIRES(mu_) {
    if (in_empty_grace(now)) {
      return *last_nonempty_;  // BEHAVIOUR 44: never an empty config mid-burst
    }
    Layer layer;
    layer.name = name_;
    layer.priority = options_.priority;
    // (highest mod revision, key count) identifies the content along one
    // history: a put raises the first, a delete alone lowers the second.
    std::int64_t top = 0;
    for (const auto& [key, entry] : mirror_) {
      top = std::max(top, entry.mod_revision);
    }
    layer.version = "etcd:" + std::to_string(top) + ":" + std::to_string(mirror_.size());
    if (options_.layout == EtcdLayout::kDocument) {
      auto it = mirror_.find(options_.prefix);
      if (it == mirror_.end()) {
        layer.data = Value::object();
      } else {
        Result<Value> doc =
            detail::etcd_parse_document(it->second, name_, it->first, *format_, options_.parse);
        if (!doc) {
          return std::move(doc).error();
        }
        layer.data = std::move(*doc);
      }
    } else {
      Result<Value> tree = detail::etcd_build_tree(mirror_, options_.prefix);
      if (!tree) {
        return std::move(tree).error();
      }
      layer.data = std::move(*tree);
    }
    if (!mirror_.empty()) {
      last_nonempty_ = layer;
    } else {
      last_nonempty_.reset();
    }
    return layer;
  }

  // ---- session thread -------------------------------------------------------

  void start() {
    MutexLock lk(mu_);
    if (started_ || stopping_) {
      return;
    }
    started_ = true;
    session_ = std::thread([this] { run(); });
  }

  void stop() {
    {
      MutexLock lk(mu_);
      stopping_ = true;
      changed_ = nullptr;
      if (active_ != nullptr) {
        active_->TryCancel();
      }
    }
    cv_.notify_all();
    backoff_wake_.notify_all();
    // From the session thread itself (a `changed` that cancels its watch):
    // detached; it ends at its next stopping() check.
    detail::join_unless_self(session_);
  }

  [[nodiscard]] bool stopping() const {
    MutexLock lk(mu_);
    return stopping_;
  }

  void signal() {
    std::function<void()> changed;
    {
      MutexLock lk(mu_);
      changed = changed_;
    }
    if (changed) {
      changed();
    }
  }

  void run() {
    std::mt19937_64 rng(std::random_device{}());
    std::chrono::milliseconds backoff = options_.backoff_initial;
    while (!stopping()) {
      StreamEnd end = session(rng);
      if (stopping()) {
        break;
      }
      if (end.retry_now) {
        continue;  // probe or list again at once; either signals the manager
      }
      bool was_connected;
      {
        MutexLock lk(mu_);
        if (!listed_ && !attempt_failed_) {
          attempt_failed_ = true;  // wait_ready() may serve the offline cache now
          cv_.notify_all();
        }
        was_connected = connected_;
        connected_ = false;
        stats_.connected = false;
        problem_ = end.error;
        if (was_connected) {
          ++stats_.stream_errors;
        }
      }
      if (was_connected) {
        // Once per outage: the manager reloads and reports the source stale.
        // Failed reconnect attempts change nothing it serves, so they stay
        // quiet instead of logging a warning every backoff period.
        signal();
      }
      // A stream that was up: every client of the fleet lost it at the same
      // moment, so the first attempt is spread over [0, reconnect_delay]
      // (etcd's Go client retries after a flat 25 ms, etcd#20717); the
      // doubling schedule starts again after it. Each failed attempt waits
      // its nominal backoff with (by default full) jitter.
      EtcdBackoff b;
      if (end.watch_created) {
        // The schedule goes on doubling from the delay, not from
        // backoff_initial: clients whose first attempt failed (etcd still
        // down) would otherwise retry within a few hundred ms of each other
        // and crowd the moment etcd is back (fleet_scale_test).
        b.after_lost_stream = true;
        b.nominal = options_.reconnect_delay;
        backoff = std::min(std::max(options_.backoff_initial, options_.reconnect_delay * 2),
                           options_.backoff_max);
      } else {
        b.nominal = backoff;
        backoff = std::min(backoff * 2, options_.backoff_max);
      }
      std::uniform_real_distribution<double> jitter(1.0 - options_.backoff_jitter, 1.0);
      b.wait = std::chrono::milliseconds(
          static_cast<std::int64_t>(static_cast<double>(b.nominal.count()) * jitter(rng)));
      {
        MutexLock lk(mu_);
        ++stats_.backoffs;
        std::vector<EtcdBackoff>& recent = stats_.recent_backoffs;
        if (recent.size() == EtcdSourceStats::kRecentBackoffs) {
          recent.erase(recent.begin());
        }
        recent.push_back(b);
        // On the source's clock: a ManualClock's advance() ends it.
        backoff_wake_.wait_until(lk, clock_->now() + b.wait,
                                 [this]() LIVECONF_REQUIRES(mu_) { return stopping_; });
      }
    }
  }

  // One connection: list the first time; after that probe, then resume or
  // list; then watch until the stream ends.
  StreamEnd session(std::mt19937_64& rng) {
    if (Status st = herd_guard(rng); !st.ok()) {
      return StreamEnd{st.error()};
    }
    if (Status st = rpc_->authenticate(); !st.ok()) {
      return StreamEnd{st.error()};
    }
    bool must_list;
    {
      MutexLock lk(mu_);
      must_list = !listed_ || relist_next_;
      relist_next_ = false;
    }
    bool confirmed = true;  // the mirror is known current
    if (!must_list) {
      Result<Resume> resume = probe();
      if (!resume) {
        return StreamEnd{std::move(resume).error()};
      }
      if (*resume == Resume::kBehind) {
        MutexLock lk(mu_);
        // Never open a watch at or below a known compaction (BEHAVIOUR 41).
        must_list = revision_ < stats_.compact_revision;
        confirmed = false;
      } else if (*resume == Resume::kRelist) {
        must_list = true;
      }
    }
    if (must_list) {
      if (Status st = list(); !st.ok()) {
        return StreamEnd{st.error()};
      }
      confirmed = true;
    }
    return watch_stream(confirmed);
  }

  // A reconnect that finds the channel down waits for it; when etcd comes
  // back, every client of the fleet waiting so sees it at the same moment.
  // Those (and only those) then wait a random [0, reconnect_delay] more, so
  // their first requests do not reach etcd together (fleet_scale_test).
  Status herd_guard(std::mt19937_64& rng) {
    {
      MutexLock lk(mu_);
      if (!listed_ || options_.reconnect_delay.count() == 0) {
        return ok_status();  // the first connection: nothing to spread
      }
    }
    if (rpc_->connected_now()) {
      return ok_status();
    }
    {
      MutexLock lk(mu_);
      ++stats_.connection_waits;
    }
    // In short slices: stop() cannot interrupt gRPC's wait, only end it.
    const auto deadline = SteadyClock::now() + rpc_->connection().request_timeout;
    while (!rpc_->wait_connected(std::chrono::milliseconds(50))) {
      if (stopping()) {
        return Error(ErrorCode::kCancelled, "etcd source stopped");
      }
      if (SteadyClock::now() >= deadline) {
        return Error(ErrorCode::kUnavailable,
                     "etcd at " + rpc_->endpoints() + ": cannot connect (" + options_.prefix + ")");
      }
    }
    std::uniform_real_distribution<double> spread(0.0, options_.backoff_jitter);
    const auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(
        static_cast<double>(options_.reconnect_delay.count()) * spread(rng)));
    MutexLock lk(mu_);
    backoff_wake_.wait_until(lk, clock_->now() + wait,
                             [this]() LIVECONF_REQUIRES(mu_) { return stopping_; });
    return stopping_ ? Status(Error(ErrorCode::kCancelled, "etcd source stopped")) : ok_status();
  }

  // One Range call, cancellable by stop(). An error names the prefix and the
  // endpoints; `out_of_range` (if given) says the revision asked for is
  // compacted. A refused auth token is dropped, so the next call logs in.
  Status range(const etcdserverpb::RangeRequest& request, etcdserverpb::RangeResponse& response,
               bool* out_of_range = nullptr) {
    grpc::ClientContext context;
    rpc_->prepare(context, rpc_->connection().request_timeout);
    if (!track(&context)) {
      return Error(ErrorCode::kCancelled, "etcd source stopped");
    }
    const grpc::Status status = rpc_->kv().Range(&context, request, &response);
    untrack();
    if (status.ok()) {
      return ok_status();
    }
    if (out_of_range != nullptr) {
      *out_of_range = status.error_code() == grpc::StatusCode::OUT_OF_RANGE;
    }
    if (detail::EtcdRpc::token_refused(status)) {
      rpc_->drop_token();
    }
    return detail::etcd_error(status, "range " + options_.prefix, rpc_->endpoints());
  }

  // At a reconnect: is the mirror (the prefix at revision_) still the
  // prefix? One Range, keys only, newest mod revision first, limit 1: its
  // header revision H, the prefix's key count, and its newest key. If no key
  // under the prefix changed after revision_ (the newest mod revision is not
  // above it) and none was deleted (the count is the mirror's), the prefix at
  // H is the mirror, so revision_ becomes H: a quiet prefix in a compacted
  // cluster resumes without relisting, and without replaying everyone else's
  // writes. (The revision is not advanced from watch progress responses
  // instead: etcd 3.4 before 3.4.24 answers a progress request at its
  // current revision even for a watcher that is still catching up.)
  Result<Resume> probe() {
    etcdserverpb::RangeRequest request;
    request.set_key(options_.prefix);
    if (options_.layout == EtcdLayout::kTree) {
      request.set_range_end(range_end_);
    }
    request.set_limit(1);
    request.set_sort_order(etcdserverpb::RangeRequest::DESCEND);
    request.set_sort_target(etcdserverpb::RangeRequest::MOD);
    request.set_keys_only(true);
    etcdserverpb::RangeResponse response;
    if (Status st = range(request, response); !st.ok()) {
      return st.error();
    }
    const std::int64_t at = response.header().revision();
    Resume resume;
    bool back = false;
    {
      MutexLock lk(mu_);
      ++stats_.reconnects;
      stats_.connected_at = std::chrono::system_clock::now();
      bool same = static_cast<std::uint64_t>(response.count()) == mirror_.size();
      if (same && response.kvs_size() > 0) {
        const mvccpb::KeyValue& newest = response.kvs(0);
        auto it = mirror_.find(newest.key());
        same = newest.mod_revision() <= revision_ && it != mirror_.end() &&
               it->second.mod_revision == newest.mod_revision();
      }
      if (at < revision_) {
        resume = Resume::kRelist;
      } else if (same) {
        resume = Resume::kCurrent;
        revision_ = at;
        stats_.revision = at;
        ++stats_.fast_forwards;
        back = !connected_;
        connected_ = true;
        stats_.connected = true;
        problem_.reset();
      } else {
        resume = Resume::kBehind;
      }
    }
    if (back) {
      signal();  // back from stale: the manager reloads and reports it ok
    }
    return resume;
  }

  // Paginated Range at one pinned revision (BEHAVIOUR 36).
  Status list() {
    detail::EtcdSourceHooks hooks;
    {
      MutexLock lk(mu_);
      hooks = hooks_;
    }
    for (int attempt = 0;; ++attempt) {
      EtcdMirror fresh;
      std::int64_t pinned = 0;
      int pages = 0;
      std::string from = options_.prefix;
      bool compacted = false;
      while (true) {
        etcdserverpb::RangeRequest request;
        request.set_key(from);
        if (options_.layout == EtcdLayout::kTree) {
          request.set_range_end(range_end_);
          request.set_limit(options_.page_size);
        }
        request.set_revision(pinned);
        etcdserverpb::RangeResponse response;
        bool out_of_range = false;
        if (Status st = range(request, response, &out_of_range); !st.ok()) {
          if (out_of_range && pinned != 0) {
            compacted = true;  // the pinned revision was compacted mid-listing
            break;
          }
          return st.error();
        }
        if (pinned == 0) {
          pinned = response.header().revision();
        }
        for (const mvccpb::KeyValue& kv : response.kvs()) {
          fresh[kv.key()] = entry_of(kv);
        }
        ++pages;
        if (hooks.after_page) {
          hooks.after_page(pages);
        }
        if (!response.more() || response.kvs().empty()) {
          break;
        }
        from = response.kvs(response.kvs_size() - 1).key() + std::string(1, '\0');
      }
      if (compacted) {
        if (attempt < 3) {
          continue;
        }
        return Error(ErrorCode::kUnavailable,
                     "etcd range " + options_.prefix + ": compacted while listing, 3 times");
      }
      {
        MutexLock lk(mu_);
        const bool was_empty = mirror_.empty();
        mirror_ = std::move(fresh);
        note_emptiness(was_empty);
        revision_ = pinned;
        if (listed_) {
          ++stats_.relists;
        }
        stats_.connected_at = std::chrono::system_clock::now();
        listed_ = true;
        connected_ = true;  // the server answered at a revision; the watch follows
        stats_.connected = true;
        problem_.reset();
        ++stats_.lists;
        stats_.revision = pinned;
        stats_.list_revision = pinned;
        stats_.list_pages = static_cast<std::uint64_t>(pages);
      }
      cv_.notify_all();
      signal();
      if (hooks.after_list) {
        hooks.after_list();
      }
      return ok_status();
    }
  }

  EtcdEntry entry_of(const mvccpb::KeyValue& kv) const {
    EtcdEntry e;
    e.value = kv.value();
    e.mod_revision = kv.mod_revision();
    if (options_.layout == EtcdLayout::kTree) {
      e.parsed =
          detail::etcd_parse_value(e.value, name_, kv.key(), kv.mod_revision(), options_.parse);
    }
    return e;
  }

  // The grace clock starts when the mirror goes from keys to none.
  void note_emptiness(bool was_empty) LIVECONF_REQUIRES(mu_) {
    if (!was_empty && mirror_.empty()) {
      empty_since_ = clock_->now();
      grace_signal_pending_ = true;
    } else if (!mirror_.empty()) {
      grace_signal_pending_ = false;
    }
  }

  bool track(grpc::ClientContext* context) {
    MutexLock lk(mu_);
    if (stopping_) {
      return false;
    }
    active_ = context;
    return true;
  }
  void untrack() {
    MutexLock lk(mu_);
    active_ = nullptr;
  }

  enum Tag : std::intptr_t { kStart = 1, kRead, kWrite, kFinish };
  static void* tag(Tag t) { return reinterpret_cast<void*>(static_cast<std::intptr_t>(t)); }

  // `confirmed`: the mirror is known current (listed, or probed), so the
  // source is connected once the watch is created. Otherwise (a resume from
  // an older revision) it stays stale until the first events arrive: etcd
  // sends `created` first and a compaction notice after it.
  StreamEnd watch_stream(bool confirmed) {
    std::int64_t start_revision;
    {
      MutexLock lk(mu_);
      start_revision = revision_ + 1;
      stats_.last_watch_start = start_revision;
    }
    grpc::ClientContext context;
    rpc_->prepare(context, std::chrono::milliseconds(0));
    grpc::CompletionQueue cq;
    if (!track(&context)) {
      return StreamEnd{Error(ErrorCode::kCancelled, "etcd source stopped")};
    }
    std::unique_ptr<
        grpc::ClientAsyncReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>
        stream = rpc_->watch().PrepareAsyncWatch(&context, &cq);
    stream->StartCall(tag(kStart));
    int outstanding = 1;  // tags the queue still owes us
    bool write_pending = false;
    bool created = false;
    bool ending = false;
    std::optional<StreamEnd> result;
    etcdserverpb::WatchResponse response;
    std::vector<mvccpb::Event> fragments;  // a revision split over responses
    const SteadyClock::time_point opened = SteadyClock::now();
    SteadyClock::time_point last_rx = opened;
    // A progress request is outstanding since progress_sent_at. (Not an
    // std::optional: GCC 12 -O2 reports its value maybe-uninitialized.)
    bool progress_pending = false;
    SteadyClock::time_point progress_sent_at;
    SteadyClock::time_point created_at;

    auto end_with = [&](StreamEnd e) {
      if (!result) {
        result = std::move(e);
      }
      if (!ending) {
        ending = true;
        context.TryCancel();
      }
    };
    auto write = [&](const etcdserverpb::WatchRequest& request) {
      write_pending = true;
      ++outstanding;
      stream->Write(request, tag(kWrite));
    };
    auto read = [&] {
      ++outstanding;
      stream->Read(&response, tag(kRead));
    };

    while (outstanding > 0) {
      void* got = nullptr;
      bool ok = false;
      const auto status =
          cq.AsyncNext(&got, &ok, std::chrono::system_clock::now() + std::chrono::milliseconds(50));
      const SteadyClock::time_point now = SteadyClock::now();
      if (status == grpc::CompletionQueue::TIMEOUT) {
        if (ending) {
          continue;
        }
        if (stopping()) {
          end_with(StreamEnd{Error(ErrorCode::kCancelled, "etcd source stopped")});
        } else if (!created && now - opened > rpc_->connection().request_timeout) {
          end_with(StreamEnd{Error(ErrorCode::kUnavailable,
                                   "etcd watch " + options_.prefix + " at " + rpc_->endpoints() +
                                       ": not created within " +
                                       std::to_string(rpc_->connection().request_timeout.count()) +
                                       " ms")});
        } else if (created && !confirmed && now - created_at > rpc_->connection().request_timeout) {
          // A resume always has events to replay (the probe saw the prefix
          // change); none and no compaction notice: trust nothing, list.
          {
            MutexLock lk(mu_);
            relist_next_ = true;
          }
          end_with(StreamEnd{
              Error(ErrorCode::kUnavailable,
                    "etcd watch " + options_.prefix + " at " + rpc_->endpoints() + ": resumed at " +
                        std::to_string(start_revision) + " but nothing replayed; listing again"),
              true, true});
        } else if (progress_pending && now - progress_sent_at > options_.progress_timeout) {
          end_with(StreamEnd{
              Error(ErrorCode::kUnavailable, "etcd at " + rpc_->endpoints() +
                                                 ": no answer to a progress request within " +
                                                 std::to_string(options_.progress_timeout.count()) +
                                                 " ms (server frozen or unreachable)"),
              false, true});
        } else if (created && !write_pending && !progress_pending &&
                   now - last_rx > options_.progress_interval) {
          etcdserverpb::WatchRequest request;
          request.mutable_progress_request();
          progress_pending = true;
          progress_sent_at = now;
          write(request);
        }
        grace_check();
        continue;
      }
      if (status == grpc::CompletionQueue::SHUTDOWN) {
        break;
      }
      --outstanding;
      const auto which = static_cast<Tag>(reinterpret_cast<std::intptr_t>(got));
      if (which == kFinish) {
        continue;
      }
      if (which == kWrite) {
        write_pending = false;
      }
      if (!ok) {
        // The stream is over (server gone, cancelled): collect the status.
        if (!ending) {
          end_with(
              StreamEnd{Error(ErrorCode::kUnavailable, "etcd watch " + options_.prefix + " at " +
                                                           rpc_->endpoints() + ": stream closed"),
                        false, created});
        }
        continue;
      }
      if (ending) {
        continue;
      }
      switch (which) {
        case kStart: {
          etcdserverpb::WatchRequest request;
          auto* create = request.mutable_create_request();
          create->set_key(options_.prefix);
          if (options_.layout == EtcdLayout::kTree) {
            create->set_range_end(range_end_);
          }
          create->set_start_revision(start_revision);
          create->set_progress_notify(true);
          create->set_fragment(true);
          write(request);
          read();
          break;
        }
        case kRead: {
          last_rx = now;
          progress_pending = false;
          const bool was_created = created;
          std::optional<StreamEnd> e = handle(response, created, confirmed, fragments);
          if (created && !was_created) {
            created_at = now;
          }
          if (e) {
            end_with(std::move(*e));
          } else {
            read();
          }
          break;
        }
        default:
          break;
      }
      grace_check();
    }
    // Every operation has come back; the call's status says why it ended.
    grpc::Status final_status;
    stream->Finish(&final_status, tag(kFinish));
    void* got = nullptr;
    bool ok = false;
    cq.Next(&got, &ok);
    untrack();
    cq.Shutdown();
    while (cq.Next(&got, &ok)) {
    }
    if (!result) {
      result = StreamEnd{Error(ErrorCode::kUnavailable, "etcd watch ended")};
    }
    if (!final_status.ok() && final_status.error_code() != grpc::StatusCode::CANCELLED) {
      if (detail::EtcdRpc::token_refused(final_status)) {
        rpc_->drop_token();
      }
      result->error =
          detail::etcd_error(final_status, "watch " + options_.prefix, rpc_->endpoints());
    }
    return std::move(*result);
  }

  // One watch response. Returns how the stream should end, or nullopt.
  std::optional<StreamEnd> handle(const etcdserverpb::WatchResponse& r, bool& created,
                                  bool& confirmed, std::vector<mvccpb::Event>& fragments) {
    if (r.created() && !created && !r.canceled()) {
      created = true;
      bool was_connected = true;
      {
        MutexLock lk(mu_);
        ++stats_.connects;
        if (confirmed) {
          was_connected = connected_;
          connected_ = true;
          stats_.connected = true;
          problem_.reset();
        }
      }
      if (!was_connected) {
        signal();  // back from stale: the manager reloads and reports it ok
      }
    }
    if (r.compact_revision() > 0) {
      {
        MutexLock lk(mu_);
        stats_.compact_revision = std::max(stats_.compact_revision, r.compact_revision());
      }
      return StreamEnd{Error(ErrorCode::kUnavailable,
                             "etcd watch " + options_.prefix + ": revision compacted at " +
                                 std::to_string(r.compact_revision()) + "; listing again"),
                       true, true};
    }
    if (r.canceled()) {
      return StreamEnd{
          Error(ErrorCode::kUnavailable,
                "etcd watch " + options_.prefix + " canceled by the server: " + r.cancel_reason()),
          false, created};
    }
    for (const mvccpb::Event& e : r.events()) {
      fragments.push_back(e);
    }
    if (r.fragment() || fragments.empty()) {
      // More of this revision follows, or a progress response. A progress
      // response's revision is not used to advance ours: etcd 3.4 can report
      // progress for a watcher that is still catching up.
      return std::nullopt;
    }
    bool changed = false;
    {
      MutexLock lk(mu_);
      if (!confirmed) {
        // Events: etcd found the start revision available and is replaying
        // from it, so the resume is good; back from stale with this batch.
        confirmed = true;
        changed = !connected_;
        connected_ = true;
        stats_.connected = true;
        problem_.reset();
      }
      const bool was_empty = mirror_.empty();
      for (const mvccpb::Event& e : fragments) {
        const std::int64_t rev = e.kv().mod_revision();
        if (rev <= revision_) {
          continue;  // already applied (never expected; keeps "no duplicates" true)
        }
        if (e.type() == mvccpb::Event::DELETE) {
          changed = mirror_.erase(e.kv().key()) > 0 || changed;
        } else {
          mirror_[e.kv().key()] = entry_of(e.kv());
          changed = true;
        }
        ++stats_.events;
      }
      for (const mvccpb::Event& e : fragments) {
        revision_ = std::max(revision_, e.kv().mod_revision());
      }
      stats_.revision = revision_;
      note_emptiness(was_empty);
    }
    fragments.clear();
    if (changed) {
      signal();
    }
    return std::nullopt;
  }

  // After an empty grace runs out, one more signal so the manager loads the
  // (still) empty prefix.
  void grace_check() {
    bool fire = false;
    const SteadyClock::time_point now = clock_->now();
    {
      MutexLock lk(mu_);
      if (grace_signal_pending_ && mirror_.empty() && now >= empty_since_ + options_.empty_grace) {
        grace_signal_pending_ = false;
        fire = true;
      }
    }
    if (fire) {
      signal();
    }
  }

  EtcdSourceOptions options_;
  std::unique_ptr<detail::EtcdRpc> rpc_;
  const Format* format_;                      // kDocument
  std::unique_ptr<detail::EtcdCache> cache_;  // null without cache_file
  std::string name_;
  std::string range_end_;

  mutable detail::Mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const liveconf::Clock> clock_;  // empty grace and backoff
  detail::ClockCondition backoff_wake_{clock_, mu_};
  std::function<void()> changed_ LIVECONF_GUARDED_BY(mu_);
  bool started_ LIVECONF_GUARDED_BY(mu_) = false;
  bool stopping_ LIVECONF_GUARDED_BY(mu_) = false;
  grpc::ClientContext* active_ LIVECONF_GUARDED_BY(mu_) = nullptr;
  EtcdMirror mirror_ LIVECONF_GUARDED_BY(mu_);
  std::int64_t revision_ LIVECONF_GUARDED_BY(mu_) = 0;
  bool listed_ LIVECONF_GUARDED_BY(mu_) = false;
  bool waited_ LIVECONF_GUARDED_BY(mu_) = false;       // wait_ready() has returned
  bool relist_next_ LIVECONF_GUARDED_BY(mu_) = false;  // the next session lists
  bool connected_ LIVECONF_GUARDED_BY(mu_) = false;
  bool attempt_failed_ LIVECONF_GUARDED_BY(mu_) = false;  // a session failed before any listing
  std::string built_version_ LIVECONF_GUARDED_BY(mu_);    // the newest current layer load() built
  std::int64_t built_revision_ LIVECONF_GUARDED_BY(mu_) = 0;
  std::optional<Error> problem_ LIVECONF_GUARDED_BY(mu_);
  SteadyClock::time_point empty_since_ LIVECONF_GUARDED_BY(mu_);
  bool grace_signal_pending_ LIVECONF_GUARDED_BY(mu_) = false;
  std::optional<Layer> last_nonempty_ LIVECONF_GUARDED_BY(mu_);
  EtcdSourceStats stats_ LIVECONF_GUARDED_BY(mu_);
  detail::EtcdSourceHooks hooks_ LIVECONF_GUARDED_BY(mu_);
  std::thread session_;
};

}  // namespace

Result<std::unique_ptr<Source>> make_etcd_source(EtcdSourceOptions options) {
  if (options.prefix.empty() && options.layout == EtcdLayout::kDocument) {
    return Error(ErrorCode::kValidation, "etcd source: the document layout needs a key (prefix)");
  }
  if (options.page_size <= 0 || options.backoff_initial.count() <= 0 ||
      options.backoff_max < options.backoff_initial || options.backoff_jitter < 0 ||
      options.backoff_jitter > 1 || options.reconnect_delay.count() < 0 ||
      options.progress_interval.count() <= 0 || options.progress_timeout.count() <= 0) {
    return Error(ErrorCode::kValidation,
                 "etcd source: page_size, backoff and progress settings must be positive "
                 "(jitter in [0, 1], backoff_max >= backoff_initial, reconnect_delay >= 0)");
  }
  const Format* format = nullptr;
  if (options.layout == EtcdLayout::kDocument) {
    format = options.format.empty() ? format_for_path(options.prefix) : find_format(options.format);
    if (format == nullptr && options.format.empty()) {
      format = find_format("json");
    }
    if (format == nullptr) {
      return Error(ErrorCode::kValidation,
                   "etcd source: unknown document format \"" + options.format + "\"");
    }
  }
  Result<std::unique_ptr<detail::EtcdRpc>> rpc = detail::EtcdRpc::create(options.connection);
  if (!rpc) {
    return std::move(rpc).error();
  }
  Result<std::unique_ptr<detail::EtcdCache>> cache =
      detail::EtcdCache::open(options, EtcdSource::cache_identity(options));
  if (!cache) {
    return std::move(cache).error();
  }
  return std::unique_ptr<Source>(
      new EtcdSource(std::move(options), std::move(*rpc), format, std::move(*cache)));
}

std::optional<EtcdSourceStats> etcd_source_stats(const Source& source) {
  if (const auto* etcd = dynamic_cast<const EtcdSource*>(&source)) {
    return etcd->stats();
  }
  return std::nullopt;
}

namespace detail {

bool set_etcd_source_hooks_for_test(Source& source, EtcdSourceHooks hooks) {
  if (auto* etcd = dynamic_cast<EtcdSource*>(&source)) {
    etcd->set_hooks_for_test(std::move(hooks));
    return true;
  }
  return false;
}

}  // namespace detail
}  // namespace liveconf
