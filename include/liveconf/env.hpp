// File: liveconf/env.hpp
//
// The process environment as a configuration source, and a watcher for it.
//
// Names. A typed config's field at path `db.port` is read from PREFIX_DB__PORT
// (the prefix, one underscore, then the path's segments upper-cased and joined
// with "__", so keys may contain single underscores: MYAPP_MAX_WORKERS is
// `max_workers`). A field declared with `.env("API_URL")` (the seed's
// env_var=) is also read from that exact name, which wins when both are set.
// Map fields take any key: MYAPP_LABELS__TEAM sets labels["team"].
//
// Values are text; binding converts them like any untyped source (bind.hpp):
// booleans true/false, 1/0, yes/no, on/off in any case; integers with the
// field type's range; floats; durations ("250ms", "1h30m"); lists "a,b,c";
// maps "k=v,k2=v2"; a JSON document ("[1,2]", "{...}") for list, map and
// struct fields; a field's own `.parser(...)` first. A value that does not
// convert refuses the whole candidate, naming the variable, its value (unless
// the field is a secret) and the expected type, and the last good snapshot
// keeps serving:
//
//   expected integer at max_workers ($MYAPP_MAX_WORKERS, layer "env:MYAPP"), got string "abc"
//
// Secrets from files (Docker and Kubernetes secrets): a value `file:///run/s/db`
// and a variable NAME_FILE=/run/s/db both read the value from that file (one
// trailing newline dropped). Those files are watched like config files.
//
//   liveconf::EnvSourceOptions env;
//   env.prefix = "MYAPP";
//   env.priority = 20;
//   liveconf::Status st = manager.add_source("app", liveconf::make_env_source(env).value());
//   if (!st.ok()) {
//     std::cerr << st.to_string() << "\n";
//   }
//
// The environment of a running process can only be changed by that process
// (another process, a shell included, cannot reach it), and in a threaded C++
// program getenv racing setenv is undefined behaviour: POSIX's environment
// has no lock. liveconf reads the environment under its own lock; change it
// with liveconf::set_env()/unset_env(), which take that lock and wake every
// watcher at once. Plain setenv() still works (a poll sees it) but is only
// safe while no other thread reads the environment. docs/environment.md has
// the details.
//
// Thread-safety: the free functions may be called from any thread.
// EnvironmentWatcher's methods may be called from any thread; its callbacks
// run one at a time on its own thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "liveconf/bind.hpp"
#include "liveconf/export.hpp"
#include "liveconf/path.hpp"
#include "liveconf/source.hpp"
#include "liveconf/status.hpp"
#include "liveconf/value.hpp"

namespace liveconf {

// ---- The process environment, and what is safe --------------------------------
//
// POSIX gives `environ` no lock. liveconf reads it (env sources, watchers,
// env_report) only while holding its own environment lock, and set_env /
// unset_env / update_env / get_env take that same lock. What that makes safe:
//   - changing the environment only through these functions, from any
//     thread, while liveconf polls: safe.
//   - setenv/putenv/unsetenv/clearenv (or getenv) called directly, in any
//     thread, while anything of liveconf's reads the environment (an env
//     source is attached, an EnvironmentWatcher runs): UNDEFINED BEHAVIOUR.
//     Our lock cannot stop a caller who does not take it; setenv may
//     reallocate `environ` or free a string our poll is reading. Code you do
//     not control (a library, an embedded interpreter such as Python's
//     os.environ) does this too.
//   - direct setenv before the first env source/watcher starts, or after
//     the last one stops: safe; the next poll sees the change.
//   - putenv(string) where the caller later modifies or frees `string`:
//     undefined whatever the lock (the environment points into it).
// A direct change that happens to be safe is seen at the next poll
// (poll_interval), not at once. Other processes cannot change ours at all
// (docs/environment.md).

/// Sets NAME=value under liveconf's environment lock and wakes every
/// EnvironmentWatcher and env source at once (no poll interval to wait for).
/// Errors: kValidation for an empty name or one containing '=' or NUL.
[[nodiscard]] LIVECONF_API Status set_env(std::string_view name, std::string_view value);
/// Removes NAME, likewise. Removing an unset variable is not an error.
[[nodiscard]] LIVECONF_API Status unset_env(std::string_view name);
/// Sets (a value) or removes (nullopt) several variables as one change: a
/// watcher sees all of them in the same poll, and an env source publishes
/// them in one snapshot. Errors: kValidation (then nothing was changed);
/// kInternal when setenv fails (out of memory: the variables before the
/// failing one are changed, and watchers are woken for them).
[[nodiscard]] LIVECONF_API Status
update_env(const std::map<std::string, std::optional<std::string>>& changes);
/// NAME's value, read under the lock; nullopt when unset.
[[nodiscard]] LIVECONF_API std::optional<std::string> get_env(std::string_view name);
/// Every variable whose name starts with `prefix`, name -> value, one
/// consistent view taken under the lock.
[[nodiscard]] LIVECONF_API std::map<std::string, std::string> environment_snapshot(
    std::string_view prefix = {});

// ---- Environment source ---------------------------------------------------------

struct EnvSourceOptions {
  /// "MYAPP" reads MYAPP_*. A trailing '_' is ignored. May be empty for a typed
  /// config (only the schema's own names are read then); an untyped config
  /// needs one.
  std::string prefix;
  /// Priority of the layer; higher wins (MultiSourceConfigSync maps its
  /// "lower number wins" priorities onto this).
  int priority = 0;
  /// Read `file://` values and NAME_FILE variables.
  bool file_refs = true;
  /// Largest secret file read.
  std::size_t max_file_bytes = 1 << 20;
  /// How often the environment is compared; set_env() wakes it at once.
  std::chrono::milliseconds poll_interval{1000};
  /// The clock poll_interval is measured on (the source's EnvironmentWatcher
  /// and its secret files' watchers); null: the steady clock.
  std::shared_ptr<const Clock> clock{};
  /// A short quiet period, so several set_env() calls in a row publish once.
  Debounce debounce{std::chrono::milliseconds(20), std::chrono::milliseconds(1000)};
  /// false: load once, never watch.
  bool watch = true;
  /// The schema that names the variables. Normally left null: the config the
  /// source is added to supplies its own. Set it to use the source alone.
  const Schema* schema = nullptr;
};

/// What became of one variable (for the binding report).
enum class EnvBindingState : std::uint8_t {
  kBound,      // sets `path`
  kUnknown,    // no field of that name (see `suggestion`)
  kAmbiguous,  // names several fields, or conflicts with another variable
  kShadowed,   // another variable sets the same field and wins (see `message`)
  kTypeError,  // bound, but the value does not convert to the field's type
  kFileError,  // a file:// value or NAME_FILE that cannot be read
};

/// "bound", "unknown", "ambiguous", "shadowed", "type_error", "file_error".
[[nodiscard]] LIVECONF_API std::string_view env_binding_state_name(EnvBindingState s) noexcept;

struct EnvBinding {
  std::string variable;
  EnvBindingState state = EnvBindingState::kBound;
  KeyPath path;               // the field it sets (empty when unknown)
  std::string expected_type;  // "integer", "list<string>", ... ("" when untyped)
  bool sensitive = false;     // a secret: its value appears nowhere
  bool from_file = false;     // the value was read from a file
  std::string message;        // why it was ignored or refused
  std::string suggestion;     // the closest known variable, for kUnknown
};

/// For each variable with the prefix (and each of the schema's explicit
/// names that is set): which key it bound to, or why it was ignored.
struct EnvReport {
  std::string prefix;
  std::vector<EnvBinding> bindings;  // sorted by variable
  /// Every variable the schema reads, set or not, with its field, in schema order.
  std::vector<std::pair<std::string, KeyPath>> known;
  [[nodiscard]] LIVECONF_API bool ok() const noexcept;  // no type, file or NAME/NAME_FILE errors
  /// One line per variable: "MYAPP_PORT -> port (integer): bound".
  [[nodiscard]] LIVECONF_API std::string to_string() const;
};

/// A source reading the environment; named "env:PREFIX" ("env" without one).
/// Errors: kValidation for an invalid prefix.
[[nodiscard]] LIVECONF_API Result<std::unique_ptr<Source>> make_env_source(
    EnvSourceOptions options);

/// The environment as a layer tree for `options` (the env source's load()).
/// Errors: kIo for an unreadable secret file, kValidation for NAME and
/// NAME_FILE both set, kParse for a malformed JSON value, each naming the
/// variable.
[[nodiscard]] LIVECONF_API Result<Value> load_env(const EnvSourceOptions& options);

/// The binding report for `options` (type errors checked against the schema).
[[nodiscard]] LIVECONF_API EnvReport env_report(const EnvSourceOptions& options);

/// The seed's `Config.from_env()`: T's defaults with the environment on top.
/// Errors: as load_env, then as from_dict.
template <Described T>
[[nodiscard]] Result<T> from_env(EnvSourceOptions options = {}) {
  options.schema = &schema_of<T>();
  Result<Value> tree = load_env(options);
  if (!tree) {
    return std::move(tree).error();
  }
  return from_dict<T>(*tree);
}

// ---- Environment watcher (the seed's EnvironmentWatcher) --------------------------

/// One variable's change; nullopt means unset (unlike the seed, which cannot
/// tell unset from empty).
struct EnvChange {
  std::optional<std::string> old_value;
  std::optional<std::string> new_value;
  friend bool operator==(const EnvChange&, const EnvChange&) = default;
};
/// name -> change, for the variables a callback watches that changed in one poll.
using EnvChanges = std::map<std::string, EnvChange>;
using EnvCallback = std::function<void(const EnvChanges& changes)>;

struct EnvironmentWatcherOptions {
  /// How often the environment is compared (the seed's default: 5 s).
  std::chrono::milliseconds poll_interval{5000};
  /// Receives callback failures ("callback for API_URL threw: ..."). Default:
  /// stderr as "liveconf: <message>". Never contains a variable's value.
  std::function<void(std::string_view)> on_error{};
  /// The clock the poll interval is measured on; null: the steady clock. With
  /// a ManualClock a poll happens when advance() reaches the next interval
  /// (set_env() still wakes it at once).
  std::shared_ptr<const Clock> clock{};
};

/// Polls the process environment and calls back with (old, new) values.
///
///   liveconf::EnvironmentWatcher watcher(std::chrono::seconds(1));
///   watcher.watch_vars({"API_URL", "MAX_WORKERS"}, [](const liveconf::EnvChanges& c) {
///     for (const auto& [name, change] : c) { ... }
///   });
///   if (liveconf::Status st = watcher.start(); !st.ok()) {
///     std::cerr << st.to_string() << "\n";
///   }
///   liveconf::Status set = liveconf::set_env("MAX_WORKERS", "8");  // the callback runs at once
///
/// A callback watching several variables is called once per poll with all of
/// its variables that changed. A callback that throws is reported through
/// on_error; the other callbacks still run, and it is called again next time.
/// A new watch starts from the variable's current value; a variable another
/// watch already follows keeps the value the last poll saw, so a change not
/// yet polled is reported to both.
///
/// Lifetime: the destructor stops the watcher (like stop()).
/// Thread-safety: every method may be called from any thread, callbacks
/// included (except stop() and the destructor from inside a callback, which
/// would wait for themselves: there, stop() returns without waiting).
class LIVECONF_API EnvironmentWatcher {
 public:
  using WatchId = std::uint64_t;

  explicit EnvironmentWatcher(std::chrono::milliseconds poll_interval = std::chrono::seconds(5));
  explicit EnvironmentWatcher(EnvironmentWatcherOptions options);
  ~EnvironmentWatcher();
  EnvironmentWatcher(const EnvironmentWatcher&) = delete;
  EnvironmentWatcher& operator=(const EnvironmentWatcher&) = delete;

  /// Calls `callback` when NAME changes.
  WatchId watch_var(std::string name, EnvCallback callback);
  /// Calls `callback` once per poll with every change among `names`.
  WatchId watch_vars(std::vector<std::string> names, EnvCallback callback);
  /// Calls `callback` once per poll with every change to a variable whose name
  /// starts with `prefix` (variables appearing and disappearing included).
  WatchId watch_prefix(std::string prefix, EnvCallback callback);
  /// Removes a watch; once it returns the callback is not running (unless
  /// called from that callback) and will not run again.
  void unwatch(WatchId id);

  /// A started watcher: the factory every watch backend shares.
  /// Errors: kInternal if the thread cannot be created.
  [[nodiscard]] static Result<std::unique_ptr<EnvironmentWatcher>> create(
      EnvironmentWatcherOptions options);

  /// Starts the polling thread; a second start() does nothing.
  /// Errors: kInternal if the thread cannot be created.
  [[nodiscard]] Status start();
  /// Stops the polling thread, waiting for a running callback, except from
  /// inside a callback, where it returns at once and the thread ends after
  /// the callback. Idempotent.
  void stop();
  [[nodiscard]] bool running() const noexcept;

  /// Compares now, on the calling thread, and runs the callbacks; for a
  /// watcher driven by your own loop instead of start(). Serialised with the
  /// polling thread, so callbacks never overlap. Returns the number of
  /// variables that changed; called from one of this watcher's callbacks it
  /// returns 0 at once (that poll is still running).
  std::size_t poll();
  /// Polls done so far.
  [[nodiscard]] std::uint64_t polls() const noexcept;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace liveconf
