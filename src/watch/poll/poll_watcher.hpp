// The polling backend: one thread per watcher re-reads every watched path each
// interval and compares a fingerprint that includes a content hash, because
// mtime alone misses same-size rewrites within one timestamp tick and NFS
// caches attributes.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "liveconf/watcher.hpp"

namespace liveconf::detail {

class PollWatcher final : public Watcher, public std::enable_shared_from_this<PollWatcher> {
 public:
  // Polls every options.poll_interval on options.clock. Never fails; a
  // Result so every backend's factory has one shape.
  static Result<std::shared_ptr<PollWatcher>> create(const WatcherOptions& options);
  ~PollWatcher() override;

  [[nodiscard]] std::string_view name() const noexcept override { return "poll"; }
  [[nodiscard]] Result<WatchHandle> watch(const std::filesystem::path& path,
                                          std::function<void()> on_change) override;

  // Ends the polling thread: idempotent, safe from a callback (the thread
  // then ends once it returns), joins otherwise. Watches stop firing.
  void stop();

  struct State;

 private:
  explicit PollWatcher(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// The one fallback to polling (inotify unavailable, or it cannot arm a
// path): warns "<why>; polling <path> every <N>ms instead" through
// options.warn (stderr without one) and returns `poller`, or a new poll
// watcher on options when it is null.
std::shared_ptr<Watcher> poll_instead(const WatcherOptions& options,
                                      const std::filesystem::path& path, std::string_view why,
                                      std::shared_ptr<Watcher> poller = nullptr);

}  // namespace liveconf::detail
