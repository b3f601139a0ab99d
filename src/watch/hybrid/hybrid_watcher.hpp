// The hybrid backend: inotify plus a slow content poll, for network and FUSE
// filesystems, whose changes made on other machines never produce inotify
// events (local ones still arrive at once through inotify).
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "liveconf/watcher.hpp"

namespace liveconf::detail {

class PollWatcher;

class HybridWatcher final : public Watcher {
 public:
  // The process's inotify instance plus a poll every
  // options.hybrid_poll_interval on options.clock. Errors: kIo when inotify
  // cannot be had (make_watcher then polls instead).
  static Result<std::shared_ptr<HybridWatcher>> create(const WatcherOptions& options);
  // As create(), over a given inotify watcher (a private or fault-injected one).
  static std::shared_ptr<HybridWatcher> over(std::shared_ptr<Watcher> inotify,
                                             const WatcherOptions& options);
  ~HybridWatcher() override;

  [[nodiscard]] std::string_view name() const noexcept override { return "hybrid"; }
  [[nodiscard]] bool busy(const std::filesystem::path& path) const override;
  // A signal from either half calls `on_change`. Errors: those of the poll
  // half (a path inotify cannot arm is still polled).
  [[nodiscard]] Result<WatchHandle> watch(const std::filesystem::path& path,
                                          std::function<void()> on_change) override;

  // Ends the slow poll's thread (idempotent, safe from a callback, joins
  // otherwise). The inotify half may be the process's shared instance and is
  // only let go of; each watch's handle still cancels its inotify watch.
  void stop();

 private:
  HybridWatcher(std::shared_ptr<Watcher> inotify, std::shared_ptr<PollWatcher> poll);
  std::shared_ptr<Watcher> inotify_;
  std::shared_ptr<PollWatcher> poll_;
};

}  // namespace liveconf::detail
