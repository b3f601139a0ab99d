// File: liveconf/source.hpp
//
// A Source produces layers (a file, a conf.d directory, the environment, a
// remote store) and says when it may have changed. ConfigManager::add_source
// loads it at once, then on every change signal waits for the source's quiet
// period (debounce), reloads it on the update thread and publishes, keeping
// the last good layers when a reload fails.
//
//   liveconf::FileSourceOptions file;
//   file.path = "/etc/myapp/app.yaml";
//   file.priority = 10;
//   liveconf::Result<std::unique_ptr<liveconf::Source>> source = liveconf::make_file_source(file);
//   liveconf::Status st = source ? manager.add_source("app", std::move(*source)) : source.status();
//   if (!st.ok()) {
//     std::cerr << st.to_string() << "\n";  // the file's error, or the manager's
//   }
//
// Thread-safety: a Source is used by one manager: wait_ready() runs on the
// thread that called add_source, load() on the manager's update thread, which
// every config shares, so load() must never block (see load()); the `changed`
// callback given to watch() may be called on any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "liveconf/export.hpp"
#include "liveconf/format.hpp"
#include "liveconf/merge.hpp"
#include "liveconf/status.hpp"
#include "liveconf/watcher.hpp"

namespace liveconf {

/// What a source looks like from outside.
enum class SourceState : std::uint8_t {
  kOk,       // loaded; its layers are live
  kMissing,  // not there: an optional source missing at start contributes
             // nothing; one that disappears later keeps its last good layers
  kStale,    // cannot be reached; its last good layers are kept
  kError,    // its newest content was refused; its last good layers are kept
};

/// "ok", "missing", "stale", "error".
[[nodiscard]] LIVECONF_API std::string_view source_state_name(SourceState state) noexcept;

/// How change signals are coalesced before a reload.
struct Debounce {
  /// Reload once no signal came for this long (a trailing quiet period).
  std::chrono::milliseconds quiet{100};
  /// ...but no later than this after the first signal of a burst, so a file
  /// rewritten continuously still reloads at least once per max_wait.
  std::chrono::milliseconds max_wait{2000};
};

class Schema;

/// What a source learns about the config it is added to (Source::attach).
struct SourceContext {
  std::string config;
  /// The config's schema; null for an untyped config.
  const Schema* schema = nullptr;
};

/// One load of a source.
struct SourceLoad {
  /// The source's layers now; empty when missing. Each has a content version.
  std::vector<Layer> layers;
  /// kOk or kMissing; kStale when a remote source cannot be reached: the
  /// manager reports the source stale with `problem` and applies `layers`
  /// (the newest state the source knows), or, when there are none, keeps the
  /// source's last good layers.
  SourceState state = SourceState::kOk;
  /// Why the source is stale (kUnavailable with the endpoint and cause).
  std::optional<Error> problem;
  /// Call Source::applied() once these layers are taken into the config.
  bool report_applied = false;
};

class LIVECONF_API Source {
 public:
  virtual ~Source() = default;
  /// Unique within a config: "file:/etc/app.yaml", "env:APP", "etcd:/app/".
  [[nodiscard]] virtual const std::string& name() const noexcept = 0;
  [[nodiscard]] virtual Debounce debounce() const noexcept { return {}; }
  /// Called once by ConfigManager::add_source before watch() and the first
  /// load(), with the config the source joins. A source that needs a schema
  /// (the environment's names come from it) returns an error without one.
  [[nodiscard]] virtual Status attach(const SourceContext& context) {
    (void)context;
    return ok_status();
  }
  /// Called once by ConfigManager::add_source after attach() and before
  /// watch() and the first load(), on the thread that called add_source
  /// (never the update thread). A source that has to reach something first
  /// (a remote store's connection and first listing) starts that here and
  /// waits for it, no longer than its own start-up timeout, so that load()
  /// has its answer at hand. Returns when the source is ready or has given
  /// up waiting; load() then says which (kStale, or an error for a required
  /// source). The default returns at once.
  ///
  /// Thread-safety: may block the calling thread; the manager keeps serving
  /// every other call meanwhile.
  virtual void wait_ready() {}
  /// Reads the source now. Runs on the manager's update thread, which every
  /// config and every other source shares, so it must not block: no waiting
  /// on a network, a lock held across I/O elsewhere, or a timeout. A remote
  /// source returns what it already has (kStale with `problem` while it
  /// cannot be reached, or kUnavailable for a required one that never
  /// answered) and signals `changed` when it knows more. Reading a local file
  /// is fine. Errors (kNotFound for a required source that is missing,
  /// kParse, kIo, ...) name the file, line and column.
  [[nodiscard]] virtual Result<SourceLoad> load() = 0;
  /// Starts calling `changed` whenever the source may have changed. Spurious
  /// calls are fine (load() compares content); missed changes are not.
  ///
  /// Lifetime: the returned WatchHandle must be destroyed (or cancelled)
  /// before the source: the watch may call into the source's own state (its
  /// watcher, its mirror). The manager does this for the sources it owns.
  [[nodiscard]] virtual Result<WatchHandle> watch(std::function<void()> changed) = 0;
  /// True while the source is being written (a new file created, not yet
  /// closed). The manager then holds the reload, never longer than the
  /// source's max_wait, so a slow writer is never read half-way.
  [[nodiscard]] virtual bool busy() const { return false; }
  /// For a load that asked for it (SourceLoad::report_applied): called on the
  /// update thread once that load was taken into the config (validated and
  /// made live; published, unless a pin holds it back), with its layers as the
  /// config holds them. A source that keeps a last-good copy (the etcd
  /// source's offline cache) takes it here. Must not block: hand any I/O to a
  /// thread of its own.
  virtual void applied(std::span<const std::shared_ptr<const Layer>> layers) { (void)layers; }
  /// The next load() must read everything rather than trust what its watch
  /// reported since the last one: the manager's recovery after a failure on
  /// the update thread reloads every source this way. A source that loads
  /// only what its watcher named (a conf.d directory) lists it all again.
  /// Update thread; must not block. The default does nothing.
  virtual void rescan() {}
};

/// A file, or a conf.d-style directory whose files merge in lexical order.
struct FileSourceOptions {
  /// A file, or a directory (every file in it with a known format extension,
  /// in lexical order, each its own layer; later files win).
  std::filesystem::path path;
  /// The source's name; empty: "file:" + path. (The CLI names .env files
  /// "dotenv:PATH".) A single file's layer has the same name.
  std::string name;
  /// Format name ("json", "yaml", ...); empty: from each file's extension.
  std::string format;
  /// Priority of the layer(s); higher wins.
  int priority = 0;
  /// A missing optional source contributes nothing and is loaded when it
  /// appears; a missing required one is an error at start.
  bool optional = false;
  Debounce debounce;
  WatchMode watch = WatchMode::kAuto;
  WatcherOptions watcher;
  /// Size, depth and node limits for parsing.
  ParseOptions parse;
  /// Read top-level keys the way environment variables are read: split at
  /// "__" and lower-cased, so a .env file written for the environment
  /// (DB__PASSWORD=x) sets db.password. For .env files (the CLI's --dotenv).
  bool env_style_keys = false;
};

/// A file or directory source. Errors: kValidation when the format is unknown.
[[nodiscard]] LIVECONF_API Result<std::unique_ptr<Source>> make_file_source(
    FileSourceOptions options);

}  // namespace liveconf
