// File: liveconf/etcd.hpp — the etcd source (target liveconf::etcd)
//
// Keys under a prefix in an etcd v3 cluster become a configuration layer that
// stays live: a fleet of processes shares one configuration.
//
//   liveconf::EtcdSourceOptions etcd;
//   etcd.connection.endpoints = {"10.0.0.5:2379"};
//   etcd.prefix = "/myapp/";       // /myapp/db/port = 5432  ->  db.port = 5432
//   etcd.priority = 20;
//   liveconf::Status st = manager.add_source("app", liveconf::make_etcd_source(etcd).value());
//   if (!st.ok()) {
//     std::cerr << st.to_string() << "\n";
//   }
//
// How it stays consistent (docs/etcd.md): the first load lists the prefix
// page by page at one pinned revision R, then watches from R+1, so no write
// is missed or seen twice. A transaction arrives as one watch response and is
// applied as one reload. After a disconnect (exponential backoff, jitter) it
// first checks with one small request whether the prefix changed since the
// revision it saw: if not, it watches from the server's current revision
// (a quiet prefix never relists because others wrote and compacted);
// otherwise it resumes from the last revision it saw + 1, or lists again if
// that revision has been compacted away. A frozen server is detected by watch
// progress requests that go unanswered. While etcd cannot be reached the
// source is reported stale and its last good layer keeps serving.
//
// The core library (liveconf::liveconf) does not depend on gRPC; this header
// includes none of it.
//
// Thread-safety: an EtcdClient may be used from many threads. A source runs
// one session thread of its own, which only updates the source's key mirror
// and signals the manager; parsing into a layer happens in load(), on the
// manager's update thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "liveconf/format.hpp"
#include "liveconf/source.hpp"
#include "liveconf/status.hpp"

namespace liveconf {

/// TLS for the connection; set when any endpoint is https:// or to use TLS.
struct EtcdTls {
  std::string ca_file;    // PEM; empty: the system's roots
  std::string cert_file;  // PEM client certificate (mutual TLS), with key_file
  std::string key_file;
};

/// How to reach etcd. Shared by EtcdClient and the source.
struct EtcdConnection {
  /// "host:port", "http://host:port" or "https://host:port"; several are
  /// tried in turn (gRPC's round-robin over the list).
  std::vector<std::string> endpoints = {"127.0.0.1:2379"};
  std::optional<EtcdTls> tls;
  /// Username/password authentication; the password never appears in logs,
  /// errors or status.
  std::string username;
  std::string password;
  /// Deadline of each unary request (a Range page, Authenticate, a Put).
  std::chrono::milliseconds request_timeout{5000};
  /// HTTP/2 keepalive pings while a connection is idle. etcd refuses pings
  /// more often than its --grpc-keepalive-min-time (5 s by default).
  std::chrono::milliseconds keepalive_time{10000};
  std::chrono::milliseconds keepalive_timeout{5000};
  /// Sends "hasleader: true": a member cut off from its cluster's leader
  /// fails requests instead of serving old data.
  bool require_leader = true;
};

/// How keys map to the configuration.
enum class EtcdLayout : std::uint8_t {
  /// Every key under the prefix is one value: /app/db/port -> db.port. A value
  /// that is JSON (a number, true, a quoted string, an object or array) is
  /// read as JSON, anything else as a string.
  kTree,
  /// The prefix names one key whose value is a whole document (JSON, YAML or
  /// TOML, see `format`).
  kDocument,
};

struct EtcdSourceOptions {
  EtcdConnection connection;
  /// kTree: a key prefix; "/" is appended if missing, so "/app" never picks
  /// up "/apple/x". kDocument: the key holding the document.
  std::string prefix;
  EtcdLayout layout = EtcdLayout::kTree;
  /// kDocument: "json", "yaml" or "toml"; empty: from the key's extension,
  /// else JSON.
  std::string format;
  /// The layer's priority; higher wins.
  int priority = 0;
  /// The source's (and its layer's) name; empty: "etcd:" + prefix.
  std::string name;
  /// An optional source that cannot be reached at start contributes nothing
  /// and is reported stale; a required one fails add_source after
  /// `initial_timeout`. That wait happens on add_source's calling thread
  /// (Source::wait_ready), never on the manager's update thread.
  bool optional = false;
  std::chrono::milliseconds initial_timeout{10000};
  /// Watch events arrive whole per revision; a short quiet period still
  /// merges a burst of separate writes into one reload.
  Debounce debounce{std::chrono::milliseconds(20), std::chrono::milliseconds(1000)};
  /// When every key under the prefix disappears, the layer keeps its last
  /// content for this long: a delete-then-put burst (a tool rewriting the
  /// prefix) never publishes an empty configuration. If the prefix is still
  /// empty afterwards, the empty layer is published.
  std::chrono::milliseconds empty_grace{2000};
  /// Keys per Range page while listing.
  std::int64_t page_size = 1000;
  /// Reconnects spread over time, so a fleet that loses etcd at once does not
  /// come back at once (docs/fleet.md). When a stream that was up ends, the
  /// first attempt waits `reconnect_delay` and each failed one after it twice
  /// the one before (2, 4, ... x reconnect_delay), up to `backoff_max`. Failed
  /// attempts with no stream before them (etcd unreachable at start) wait
  /// `backoff_initial` doubling up to `backoff_max`. Every wait is that
  /// nominal value times a random factor in [1 - backoff_jitter, 1]: 1 (the
  /// default) is "full jitter", a wait anywhere from 0 to the nominal; 0 is
  /// none.
  std::chrono::milliseconds reconnect_delay{3000};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  double backoff_jitter = 1.0;
  /// A progress request goes out on the watch stream after this long without
  /// a response; no answer within `progress_timeout` ends the stream (a
  /// frozen server) and the session reconnects.
  std::chrono::milliseconds progress_interval{1000};
  std::chrono::milliseconds progress_timeout{3000};
  /// Offline boot (docs/fleet.md). After each revision the config takes in,
  /// the source's layer is written to `cache_file` (atomically, by a thread of
  /// its own), sealed with the key in `cache_key_file` (32 raw bytes or 64 hex
  /// digits, mode 0600; required: the cache is never written in plaintext).
  /// When the source starts and etcd cannot be reached, it serves the cache at
  /// once, reported stale with the cache's revision, instead of waiting
  /// `initial_timeout`; when etcd answers, the listing replaces it in one
  /// reload. A cache that fails its MAC (altered, truncated, another key) or
  /// was written for another prefix is refused, said in the source's error,
  /// and treated as absent.
  std::filesystem::path cache_file;
  std::filesystem::path cache_key_file;
  /// Limits for each parsed value or document.
  ParseOptions parse;
  /// The clock `empty_grace` and the reconnect backoff are measured on; null:
  /// the steady clock. A ManualClock's advance() ends a backoff wait. The
  /// network's own deadlines (`initial_timeout`, progress, request timeouts)
  /// stay in real time: they measure a server, not the program.
  std::shared_ptr<const Clock> clock{};
};

/// Errors: kValidation for a bad option (no endpoint, empty document key,
/// unknown format, unreadable TLS file).
[[nodiscard]] LIVECONF_API Result<std::unique_ptr<Source>> make_etcd_source(
    EtcdSourceOptions options);

/// One wait before a reconnect attempt (EtcdSourceStats::recent_backoffs).
struct EtcdBackoff {
  /// The first wait after a stream that was up (its watch created by the
  /// server) ended: `nominal` is reconnect_delay.
  bool after_lost_stream = false;
  /// Otherwise the schedule's value: the one before doubled, at most
  /// backoff_max; starting from 2 x reconnect_delay after a lost stream, from
  /// backoff_initial when no stream came before.
  std::chrono::milliseconds nominal{0};
  /// What the session waited: `nominal` times a random factor in
  /// [1 - backoff_jitter, 1], truncated to milliseconds.
  std::chrono::milliseconds wait{0};
};

/// What an etcd source has seen, for tests, tools and metrics.
struct EtcdSourceStats {
  /// How many waits `recent_backoffs` keeps.
  static constexpr std::size_t kRecentBackoffs = 16;

  std::uint64_t connects = 0;          // watch streams opened
  std::uint64_t lists = 0;             // full listings (start, compaction)
  std::uint64_t relists = 0;           // listings after the first
  std::uint64_t reconnects = 0;        // sessions that resumed a listed mirror (each probes once)
  std::uint64_t fast_forwards = 0;     // reconnects whose probe found the mirror current
                                       // and advanced `revision` to the server's
  std::uint64_t events = 0;            // watch events applied
  std::uint64_t stream_errors = 0;     // streams that ended (server gone, frozen, canceled)
  std::int64_t revision = 0;           // the revision the mirror is known to match
  std::int64_t applied_revision = 0;   // the revision of the content the config last took in
  std::int64_t list_revision = 0;      // the revision the newest listing was pinned at
  std::int64_t compact_revision = 0;   // the newest compaction revision reported
  std::int64_t last_watch_start = 0;   // start revision of the newest watch
  std::uint64_t list_pages = 0;        // Range requests (pages) of the newest listing:
                                       // ceil(keys / page_size), at least 1 (a document: 1)
  std::uint64_t backoffs = 0;          // waits before a reconnect attempt (failed sessions)
  std::uint64_t connection_waits = 0;  // reconnects that found the connection down and waited
                                       // for it (each then waits a random spread: herd guard)
  /// The newest kRecentBackoffs of those waits, oldest first: how long the
  /// source has been holding off, and that a fleet is not in lockstep.
  std::vector<EtcdBackoff> recent_backoffs;
  bool connected = false;  // up, and the mirror known current (listed, probed or replaying)
  /// When the newest session's first request got through (its probe or
  /// listing): a fleet's reconnects, spread or not, are these moments.
  std::chrono::system_clock::time_point connected_at{};
  /// The offline cache (EtcdSourceOptions::cache_file), if any.
  bool serving_cache = false;       // nothing listed yet: load() returns the cache's layer
  std::int64_t cache_revision = 0;  // the revision the cache file holds (read or written)
  std::uint64_t cache_writes = 0;
  std::string cache_error;  // why the file was refused at start, or the newest write failed
};
/// The stats of a source made by make_etcd_source; nullopt for another source.
[[nodiscard]] LIVECONF_API std::optional<EtcdSourceStats> etcd_source_stats(const Source& source);

/// One key-value pair read from etcd.
struct EtcdKeyValue {
  std::string key;
  std::string value;
  std::int64_t mod_revision = 0;
  std::int64_t lease = 0;
};

/// One write of a transaction.
struct EtcdWrite {
  enum class Kind : std::uint8_t { kPut, kDelete, kDeletePrefix };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;
  std::int64_t lease = 0;
};

/// One condition of a guarded transaction (etcd's Compare on mod revisions):
/// the key's (or, with `range_end`, every key in [key, range_end)'s) mod
/// revision compared with `mod_revision`. A missing key's is 0.
struct EtcdCompare {
  enum class Op : std::uint8_t { kEqual, kNotEqual, kLess, kGreater };
  std::string key;
  std::string range_end;
  Op op = Op::kEqual;
  std::int64_t mod_revision = 0;
};

/// A small synchronous etcd client for tools, tests and examples: the writes
/// an operator makes (put, delete, one transaction), leases and compaction.
class LIVECONF_API EtcdClient {
 public:
  /// Errors: kValidation for bad options. Does not connect yet.
  [[nodiscard]] static Result<std::unique_ptr<EtcdClient>> create(EtcdConnection connection);
  virtual ~EtcdClient() = default;

  /// Each returns the store revision after the request. Errors: kUnavailable
  /// (cannot reach etcd, deadline), kValidation (etcd refused the request).
  [[nodiscard]] virtual Result<std::int64_t> put(const std::string& key, const std::string& value,
                                                 std::int64_t lease = 0) = 0;
  [[nodiscard]] virtual Result<std::int64_t> remove(const std::string& key,
                                                    bool prefix = false) = 0;
  /// All writes in one transaction: one revision, one watch response.
  [[nodiscard]] virtual Result<std::int64_t> commit(const std::vector<EtcdWrite>& writes) = 0;
  /// The writes in one transaction if every condition in `guard` holds, else
  /// nothing: kFailedPrecondition ("changed meanwhile"). etcd bounds the
  /// conditions and the writes of one transaction (--max-txn-ops, 128 by
  /// default); beyond it etcd refuses the request (kValidation).
  [[nodiscard]] virtual Result<std::int64_t> commit_if(const std::vector<EtcdCompare>& guard,
                                                       const std::vector<EtcdWrite>& writes) = 0;
  /// Keys under `prefix` (or exactly `key` when prefix is false).
  [[nodiscard]] virtual Result<std::vector<EtcdKeyValue>> get(const std::string& key,
                                                              bool prefix = false) = 0;
  /// The store's current revision.
  [[nodiscard]] virtual Result<std::int64_t> revision() = 0;
  /// Compacts the history up to `revision` (physically, before returning).
  [[nodiscard]] virtual Status compact(std::int64_t revision) = 0;
  /// A lease of `ttl`, returned by its ID; keys put with it go when it expires.
  [[nodiscard]] virtual Result<std::int64_t> grant_lease(std::chrono::seconds ttl) = 0;
  [[nodiscard]] virtual Status revoke_lease(std::int64_t lease) = 0;
  /// Renews `lease` once; its remaining TTL, or 0 when the lease is gone
  /// (expired or revoked).
  [[nodiscard]] virtual Result<std::chrono::seconds> keep_alive(std::int64_t lease) = 0;
};

// ---- A fleet on etcd (docs/fleet.md) ---------------------------------------

/// One instance's entry in the fleet report: what it serves and how it is.
/// Kept in etcd under fleet_report_prefix(prefix) + id, under a lease.
struct FleetInstance {
  std::string id;  // unique in the fleet; `liveconf watch --report-as`, default host:pid
  std::string host;
  std::int64_t pid = 0;
  std::chrono::system_clock::time_point started{};
  std::chrono::system_clock::time_point updated{};
  std::uint64_t generation = 0;       // the configuration generation it serves
  std::int64_t revision = 0;          // the etcd revision of the content it serves
  std::string state = "ok";           // its etcd source: ok, stale, error
  std::int64_t refused_revision = 0;  // the newest revision it refused (0: none since it applied)
  std::string refused_reason;         // why (file:line:col, key, value masked if secret)
  std::uint64_t relists = 0;          // its etcd source's listings after the first (compactions)
  std::uint64_t reconnects = 0;       // and its resumed sessions (EtcdSourceStats)
  std::chrono::system_clock::time_point connected{};  // its newest session's start
};
/// The entry as stored: one JSON object.
[[nodiscard]] LIVECONF_API std::string fleet_instance_json(const FleetInstance& instance);
/// Errors: kParse naming what is missing.
[[nodiscard]] LIVECONF_API Result<FleetInstance> parse_fleet_instance(std::string_view json);
/// Where a fleet reading `prefix` reports: the prefix without its trailing
/// "/" + ".liveconf/instances/" ("/app/" -> "/app.liveconf/instances/"), so
/// the reports are outside the prefix and never wake the fleet's watches.
[[nodiscard]] LIVECONF_API std::string fleet_report_prefix(std::string_view prefix);
/// The instances reporting for `prefix`, sorted by id, and the revision of
/// the newest change under `prefix` (what a current instance serves).
struct FleetView {
  std::vector<FleetInstance> instances;
  std::int64_t latest_revision = 0;
  std::int64_t store_revision = 0;
};
[[nodiscard]] LIVECONF_API Result<FleetView> read_fleet(EtcdClient& client, std::string_view prefix,
                                                        EtcdLayout layout = EtcdLayout::kTree);

struct FleetReporterOptions {
  EtcdConnection connection;
  std::string prefix;  // the configuration's prefix
  /// The entry disappears this long after the process stops renewing it (a
  /// crash, a partition); a clean stop revokes it at once. etcd's minimum is
  /// a few seconds.
  std::chrono::seconds ttl{10};
};

/// Keeps one instance's entry in etcd. A thread of its own grants the lease,
/// puts the newest report, renews the lease every ttl/3 and, after an outage
/// or an expired lease, grants a new one and puts the report again; report()
/// never blocks. Destruction revokes the lease (the entry goes at once).
class LIVECONF_API FleetReporter {
 public:
  /// `self.id` empty: host:pid. Errors: kValidation (options).
  [[nodiscard]] static Result<std::unique_ptr<FleetReporter>> start(FleetReporterOptions options,
                                                                    FleetInstance self);
  virtual ~FleetReporter() = default;
  /// Replaces the entry's content (`updated` is set here).
  virtual void report(FleetInstance now) = 0;
  [[nodiscard]] virtual const std::string& key() const noexcept = 0;
  struct Stats {
    std::uint64_t puts = 0;
    std::uint64_t leases = 0;  // leases granted (1 unless one expired or etcd lost it)
    std::uint64_t keep_alives = 0;
    std::uint64_t failures = 0;
  };
  [[nodiscard]] virtual Stats stats() const = 0;
};

// ---- Safe publishing (liveconf publish) -------------------------------------

/// What publishing a configuration to `prefix` changes, computed against the
/// keys there now (read at `revision`).
struct EtcdPublishPlan {
  std::string prefix;
  EtcdLayout layout = EtcdLayout::kTree;
  std::int64_t revision = 0;          // the store revision the keys were read at
  std::vector<EtcdKeyValue> current;  // the keys under the prefix then
  std::vector<EtcdWrite> writes;      // puts of new or changed values, deletes of keys
                                      // the configuration no longer has; key order
  std::size_t unchanged = 0;          // keys already holding their value
};
/// The keys that make `prefix` hold `config`: the tree layout maps each path
/// to a key (objects become key segments; strings are stored as they are
/// unless they would read back as JSON; everything else as JSON), and the
/// result is checked to read back as exactly `config`; the document layout
/// stores `document_text` at the key `prefix`. Errors: kValidation for a key
/// segment etcd's layout cannot hold ("/" or empty), naming the path;
/// kUnavailable when etcd cannot be read.
[[nodiscard]] LIVECONF_API Result<EtcdPublishPlan> plan_etcd_publish(
    EtcdClient& client, std::string prefix, EtcdLayout layout, const Value& config,
    std::string_view document_text = {});
/// Applies `plan` in one transaction guarded by what it was computed from:
/// every key read then still has its mod revision and no key under the
/// prefix was created or changed since (a concurrent writer makes it fail with
/// kFailedPrecondition, nothing written). The new revision; the plan's own
/// revision when it has no writes.
[[nodiscard]] LIVECONF_API Result<std::int64_t> publish_to_etcd(EtcdClient& client,
                                                                const EtcdPublishPlan& plan);

}  // namespace liveconf
