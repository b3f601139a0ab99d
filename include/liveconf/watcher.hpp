// File: liveconf/watcher.hpp
//
// Watch backends tell a source that a path *may* have changed; the source then
// re-reads and compares content, so a backend may report too often but must
// never miss a change. Backends:
//
//   - inotify (Linux): one instance per process. Watches parent directories and
//     filters by name (an inotify watch follows an inode, and every atomic save
//     replaces the inode), re-resolves symlink chains on every event
//     (Kubernetes ConfigMap `..data` swaps), re-arms from the nearest existing
//     ancestor when a directory disappears, and reports every path on
//     IN_Q_OVERFLOW (a full rescan).
//   - polling: re-reads each path every interval and compares a content hash,
//     the file identity and the resolved symlink target (not just mtime).
//   - hybrid: inotify plus a slow poll, for network and FUSE filesystems whose
//     changes made on other machines never produce inotify events.
//
//   // Never fails: falls back to polling (with a warning) when inotify is unavailable.
//   std::shared_ptr<liveconf::Watcher> w =
//       liveconf::make_watcher(path, liveconf::WatchMode::kAuto);
//   liveconf::Result<liveconf::WatchHandle> h = w->watch(path, [] { /* re-read path */ });
//   if (!h) {
//     std::cerr << h.error().to_string() << "\n";  // e.g. out of inotify watches
//   }
//   // ... destroy the handle (or cancel() it) before `w`.
//
// kqueue (BSD/macOS), FSEvents (macOS) and ReadDirectoryChangesW (Windows)
// would be further backends behind this interface; docs/watching.md says what
// each needs.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "liveconf/clock.hpp"
#include "liveconf/export.hpp"
#include "liveconf/status.hpp"

namespace liveconf {

/// How a file source is watched.
enum class WatchMode : std::uint8_t {
  kAuto,     // inotify; hybrid on network/FUSE filesystems; polling if inotify fails
  kInotify,  // inotify only (polling if inotify cannot be had, with a warning)
  kPoll,     // polling only (the force-poll option)
  kHybrid,   // inotify plus a slow content poll
  kNone,     // load once, never watch
};

/// "auto", "inotify", "poll", "hybrid", "none".
[[nodiscard]] LIVECONF_API std::string_view watch_mode_name(WatchMode mode) noexcept;

/// Owns one watch. Destroying it (or cancel()) stops the callback: once it
/// returns, the callback is not running and will not run again (unless called
/// from inside the callback itself, which is allowed and returns at once).
class LIVECONF_API WatchHandle {
 public:
  WatchHandle() noexcept = default;
  explicit WatchHandle(std::function<void()> cancel) noexcept : cancel_(std::move(cancel)) {}
  WatchHandle(WatchHandle&& other) noexcept : cancel_(std::move(other.cancel_)) {
    other.cancel_ = nullptr;
  }
  WatchHandle& operator=(WatchHandle&& other) noexcept;
  WatchHandle(const WatchHandle&) = delete;
  WatchHandle& operator=(const WatchHandle&) = delete;
  ~WatchHandle() { cancel(); }

  void cancel() noexcept;
  [[nodiscard]] bool active() const noexcept { return static_cast<bool>(cancel_); }

 private:
  std::function<void()> cancel_;
};

/// What watch_entries() reports for a watched directory: the entries that
/// may have changed, or `all` when the backend cannot name them (the
/// directory itself moved, a symlink's target changed, events were lost, or
/// the backend polls).
struct ChangedEntries {
  bool all = false;
  std::vector<std::string> names;  // entry names in the directory, when !all
  [[nodiscard]] static ChangedEntries everything() { return ChangedEntries{true, {}}; }
};

/// A watch backend. Thread-safety: watch() and the handles may be used from
/// any thread; callbacks run on the backend's own thread, must be quick and
/// must not block on the backend (queue work elsewhere).
class LIVECONF_API Watcher {
 public:
  virtual ~Watcher() = default;
  /// "inotify", "poll", "hybrid".
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  /// Calls `on_change` whenever `path` may have changed: written and closed,
  /// replaced by a rename, created, deleted, its permissions changed, or a
  /// symlink on its way retargeted. The path, its directory and its
  /// ancestors need not exist yet. Errors: kIo (the backend cannot watch).
  [[nodiscard]] virtual Result<WatchHandle> watch(const std::filesystem::path& path,
                                                  std::function<void()> on_change) = 0;
  /// watch(), also saying which entries changed when `path` is a directory,
  /// so a reader of a conf.d directory of thousands can read just those. A
  /// name is given only for an event on that very entry of the directory
  /// (written, created, deleted, renamed, chmod-ed); anything else is `all`.
  /// For a file, or from a backend that cannot tell (this default), `all`.
  [[nodiscard]] virtual Result<WatchHandle> watch_entries(
      const std::filesystem::path& path, std::function<void(const ChangedEntries&)> on_change);
  /// True while a new file at `path` (or, for a watched directory, in it) has
  /// been created but not yet closed by its writer: reading it now could see a
  /// partial file. Backends that cannot tell return false.
  [[nodiscard]] virtual bool busy(const std::filesystem::path& path) const {
    (void)path;
    return false;
  }
};

/// What every backend is made from (make_watcher, make_poll_watcher). Every
/// field has a default, so designated initializers name only what differs:
/// `WatcherOptions{.poll_interval = std::chrono::milliseconds(200)}`.
struct WatcherOptions {
  /// Interval of the polling backend.
  std::chrono::milliseconds poll_interval{1000};
  /// Interval of the slow poll in hybrid mode.
  std::chrono::milliseconds hybrid_poll_interval{5000};
  /// Receives warnings (fallback to polling, inotify limits); null: stderr.
  std::function<void(std::string_view)> warn{};
  /// The clock poll intervals are measured on; null: the steady clock. With a
  /// ManualClock a poll happens when advance() reaches the next interval.
  std::shared_ptr<const Clock> clock{};
};

/// The process's inotify watcher (created on first use, shared by every
/// caller, closed when the last user lets go). Errors: kIo when inotify cannot
/// be initialised (EMFILE: too many instances; ENOSYS).
[[nodiscard]] LIVECONF_API Result<std::shared_ptr<Watcher>> inotify_watcher();
/// A polling watcher with its own thread, polling every
/// `options.poll_interval` on `options.clock`. Never null. Destroying it (once
/// its handles are gone: each keeps it alive) stops and joins the thread.
[[nodiscard]] LIVECONF_API std::shared_ptr<Watcher> make_poll_watcher(
    const WatcherOptions& options = {});
/// The watcher for `path` in `mode` (see WatchMode). kAuto checks the
/// filesystem type (statfs) of the path's nearest existing ancestor. Never
/// fails: when inotify is unavailable it falls back to polling and warns.
[[nodiscard]] LIVECONF_API std::shared_ptr<Watcher> make_watcher(
    const std::filesystem::path& path, WatchMode mode, const WatcherOptions& options = {});
/// True for filesystems whose remote changes inotify cannot see (NFS, SMB/CIFS,
/// FUSE, 9p, Ceph, AFS, ...), by statfs f_type.
[[nodiscard]] LIVECONF_API bool is_network_filesystem(const std::filesystem::path& path);

}  // namespace liveconf
