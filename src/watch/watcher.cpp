#include "liveconf/watcher.hpp"

#include <iostream>
#include <mutex>
#include <sys/vfs.h>

#include "watch/inotify/inotify_watcher.hpp"
#include "watch/poll/poll_watcher.hpp"

namespace liveconf {
namespace fs = std::filesystem;

namespace detail {
void warn(const WatcherOptions& options, std::string_view message) {
  if (options.warn) {
    options.warn(message);
  } else {
    // Nobody asked for warnings: say it on stderr rather than fall back silently.
    std::cerr << "liveconf: warning: " << message << '\n';
  }
}
}  // namespace detail

WatchHandle& WatchHandle::operator=(WatchHandle&& other) noexcept {
  if (this != &other) {
    cancel();
    cancel_ = std::move(other.cancel_);
    other.cancel_ = nullptr;
  }
  return *this;
}

void WatchHandle::cancel() noexcept {
  if (cancel_) {
    auto fn = std::move(cancel_);
    cancel_ = nullptr;
    fn();
  }
}

std::string_view watch_mode_name(WatchMode mode) noexcept {
  switch (mode) {
    case WatchMode::kAuto:
      return "auto";
    case WatchMode::kInotify:
      return "inotify";
    case WatchMode::kPoll:
      return "poll";
    case WatchMode::kHybrid:
      return "hybrid";
    case WatchMode::kNone:
      return "none";
  }
  return "unknown";
}

Result<std::shared_ptr<Watcher>> inotify_watcher() {
  // One inotify instance per process (BEHAVIOUR 22): the kernel limits
  // instances per user (often 128), and one instance with many watches costs
  // one thread. A weak_ptr, so the instance closes when nobody uses it.
  static std::mutex mu;
  static std::weak_ptr<detail::InotifyWatcher> shared;
  std::lock_guard<std::mutex> lk(mu);
  if (auto existing = shared.lock()) {
    return std::shared_ptr<Watcher>(existing);
  }
  Result<std::shared_ptr<detail::InotifyWatcher>> created = detail::InotifyWatcher::create();
  if (!created) {
    return std::move(created).error();
  }
  shared = *created;
  return std::shared_ptr<Watcher>(std::move(*created));
}

bool is_network_filesystem(const fs::path& path) {
  // f_type magic numbers from linux/magic.h and the filesystems' sources.
  constexpr long kNfs = 0x6969;
  constexpr long kSmb = 0x517B;
  constexpr long kCifs = 0xFF534D42;
  constexpr long kSmb2 = 0xFE534D42;
  constexpr long kFuse = 0x65735546;
  constexpr long kV9fs = 0x01021997;
  constexpr long kCeph = 0x00C36400;
  constexpr long kAfs = 0x6B414653;
  constexpr long kCoda = 0x73757245;
  constexpr long kOcfs2 = 0x7461636F;
  constexpr long kGfs2 = 0x01161970;
  fs::path probe = path;
  struct statfs st {};
  // The nearest existing ancestor decides: the file may not exist yet.
  while (::statfs(probe.c_str(), &st) != 0) {
    if (!probe.has_parent_path() || probe.parent_path() == probe) {
      return false;
    }
    probe = probe.parent_path();
  }
  const long type = static_cast<long>(st.f_type);
  for (long magic : {kNfs, kSmb, kCifs, kSmb2, kFuse, kV9fs, kCeph, kAfs, kCoda, kOcfs2, kGfs2}) {
    if (type == magic) {
      return true;
    }
  }
  return false;
}

std::shared_ptr<Watcher> make_watcher(const fs::path& path, WatchMode mode,
                                      const WatcherOptions& options) {
  auto warn = [&](std::string_view message) { detail::warn(options, message); };
  if (mode == WatchMode::kNone) {
    return nullptr;
  }
  if (mode == WatchMode::kPoll) {
    return make_poll_watcher(options.poll_interval);
  }
  Result<std::shared_ptr<Watcher>> inotify =
      options.inotify_syscalls_for_test ? [&]() -> Result<std::shared_ptr<Watcher>> {
    auto w = detail::InotifyWatcher::create(*options.inotify_syscalls_for_test, options.warn);
    if (!w) {
      return std::move(w).error();
    }
    return std::shared_ptr<Watcher>(std::move(*w));
  }()
      : inotify_watcher();
  if (!inotify) {
    warn(inotify.error().message() + "; polling " + path.string() + " every " +
         std::to_string(options.poll_interval.count()) + "ms instead");
    return make_poll_watcher(options.poll_interval);
  }
  if (mode == WatchMode::kHybrid || (mode == WatchMode::kAuto && is_network_filesystem(path))) {
    return detail::make_hybrid_watcher(std::move(*inotify),
                                       make_poll_watcher(options.hybrid_poll_interval));
  }
  return std::move(*inotify);
}

}  // namespace liveconf
