// The Linux inotify backend. One instance per process (inotify_watcher()),
// private ones from create(), or private instances with injected syscalls for
// fault-injection tests (make_inotify_watcher_for_test).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <sys/inotify.h>

#include "liveconf/watcher.hpp"

namespace liveconf::detail {

/// The syscalls the backend makes, replaceable in tests to inject EMFILE,
/// ENOSPC and friends.
struct InotifySyscalls {
  int (*init1)(int flags) = ::inotify_init1;
  int (*add_watch)(int fd, const char* path, std::uint32_t mask) = ::inotify_add_watch;
  int (*rm_watch)(int fd, int wd) = ::inotify_rm_watch;
};

class InotifyWatcher final : public Watcher, public std::enable_shared_from_this<InotifyWatcher> {
 public:
  // A private instance with its own thread (inotify_watcher() is the shared
  // one). options.warn receives the fallback-to-polling warnings; the
  // fallback poller uses options.poll_interval and options.clock. Errors:
  // kIo when inotify_init1 fails (the message names errno).
  static Result<std::shared_ptr<InotifyWatcher>> create(const WatcherOptions& options);
  ~InotifyWatcher() override;

  [[nodiscard]] std::string_view name() const noexcept override { return "inotify"; }
  /// Errors: kIo when a watch cannot be added (ENOSPC: the user's watch limit).
  [[nodiscard]] Result<WatchHandle> watch(const std::filesystem::path& path,
                                          std::function<void()> on_change) override;
  /// Names the entries of a watched directory that an event was about.
  [[nodiscard]] Result<WatchHandle> watch_entries(
      const std::filesystem::path& path,
      std::function<void(const ChangedEntries&)> on_change) override;
  [[nodiscard]] bool busy(const std::filesystem::path& path) const override;

  /// Behaves as if the kernel reported IN_Q_OVERFLOW: every watch is re-armed
  /// and every callback called (a full rescan).
  void inject_overflow_for_test();
  /// Directory watches currently held.
  [[nodiscard]] std::size_t watch_count_for_test() const;
  /// Times the event thread returned from poll(2): bounded by the events
  /// that happened, so a spinning thread shows up as a count, not a timing.
  [[nodiscard]] std::uint64_t wakeups_for_test() const;

  // Ends the event thread: idempotent, safe from a callback (the thread then
  // ends once it returns), joins otherwise. Watches stop firing.
  void stop();

  struct Impl;

 private:
  friend Result<std::shared_ptr<InotifyWatcher>> make_inotify_watcher_for_test(
      const WatcherOptions& options, const InotifySyscalls& syscalls);
  static Result<std::shared_ptr<InotifyWatcher>> create_with_syscalls(
      const WatcherOptions& options, const InotifySyscalls& syscalls);
  explicit InotifyWatcher(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// Test seam: a private instance making `syscalls` (to inject EMFILE, ENOSPC).
Result<std::shared_ptr<InotifyWatcher>> make_inotify_watcher_for_test(
    const WatcherOptions& options, const InotifySyscalls& syscalls);

}  // namespace liveconf::detail
