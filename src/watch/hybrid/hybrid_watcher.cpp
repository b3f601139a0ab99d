#include "watch/hybrid/hybrid_watcher.hpp"

#include <utility>

#include "watch/poll/poll_watcher.hpp"

namespace liveconf::detail {
namespace fs = std::filesystem;

Result<std::shared_ptr<HybridWatcher>> HybridWatcher::create(const WatcherOptions& options) {
  Result<std::shared_ptr<Watcher>> inotify = inotify_watcher();
  if (!inotify) {
    return std::move(inotify).error();
  }
  return over(std::move(*inotify), options);
}

std::shared_ptr<HybridWatcher> HybridWatcher::over(std::shared_ptr<Watcher> inotify,
                                                   const WatcherOptions& options) {
  WatcherOptions slow = options;
  slow.poll_interval = options.hybrid_poll_interval;
  return std::shared_ptr<HybridWatcher>(
      new HybridWatcher(std::move(inotify), std::move(*PollWatcher::create(slow))));
}

HybridWatcher::HybridWatcher(std::shared_ptr<Watcher> inotify, std::shared_ptr<PollWatcher> poll)
    : inotify_(std::move(inotify)), poll_(std::move(poll)) {}

HybridWatcher::~HybridWatcher() { stop(); }

void HybridWatcher::stop() { poll_->stop(); }

bool HybridWatcher::busy(const fs::path& path) const {
  return inotify_->busy(path) || poll_->busy(path);
}

Result<WatchHandle> HybridWatcher::watch(const fs::path& path, std::function<void()> on_change) {
  auto shared = std::make_shared<std::function<void()>>(std::move(on_change));
  Result<WatchHandle> fast = inotify_->watch(path, [shared] { (*shared)(); });
  Result<WatchHandle> slow = poll_->watch(path, [shared] { (*shared)(); });
  if (!slow) {
    return std::move(slow).error();
  }
  auto handles = std::make_shared<std::pair<WatchHandle, WatchHandle>>(
      fast ? std::move(*fast) : WatchHandle(), std::move(*slow));
  return WatchHandle([handles] {
    handles->first.cancel();
    handles->second.cancel();
  });
}

}  // namespace liveconf::detail
