#include "liveconf/watcher.hpp"

#include <mutex>
#include <sys/vfs.h>

#include "watch/filesystem_type.hpp"
#include "watch/hybrid/hybrid_watcher.hpp"
#include "watch/inotify/inotify_watcher.hpp"
#include "watch/poll/poll_watcher.hpp"
#include "watch/watcher_factory.hpp"

namespace liveconf {
namespace fs = std::filesystem;

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

Result<WatchHandle> Watcher::watch_entries(const fs::path& path,
                                           std::function<void(const ChangedEntries&)> on_change) {
  return watch(path, [fn = std::move(on_change)] { fn(ChangedEntries::everything()); });
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
  Result<std::shared_ptr<detail::InotifyWatcher>> created = detail::InotifyWatcher::create({});
  if (!created) {
    return std::move(created).error();
  }
  shared = *created;
  return std::shared_ptr<Watcher>(std::move(*created));
}

namespace detail {

bool is_network_filesystem_type(std::int64_t f_type) noexcept {
  // f_type magic numbers from linux/magic.h and the filesystems' sources.
  constexpr std::int64_t kNfs = 0x6969;
  constexpr std::int64_t kSmb = 0x517B;
  constexpr std::int64_t kCifs = 0xFF534D42;
  constexpr std::int64_t kSmb2 = 0xFE534D42;
  constexpr std::int64_t kFuse = 0x65735546;
  constexpr std::int64_t kV9fs = 0x01021997;
  constexpr std::int64_t kCeph = 0x00C36400;
  constexpr std::int64_t kKafs = 0x6B414653;     // the kernel's AFS client (AFS_FS_MAGIC)
  constexpr std::int64_t kOpenAfs = 0x5346414F;  // OpenAFS (AFS_SUPER_MAGIC)
  constexpr std::int64_t kCoda = 0x73757245;
  constexpr std::int64_t kOcfs2 = 0x7461636F;
  constexpr std::int64_t kGfs2 = 0x01161970;
  // statfs' f_type is a signed long: a magic number with the top bit set
  // (CIFS, SMB2) may arrive sign-extended. Compare the low 32 bits.
  const std::int64_t type = f_type & 0xFFFFFFFF;
  for (std::int64_t magic :
       {kNfs, kSmb, kCifs, kSmb2, kFuse, kV9fs, kCeph, kKafs, kOpenAfs, kCoda, kOcfs2, kGfs2}) {
    if (type == magic) {
      return true;
    }
  }
  return false;
}

}  // namespace detail

bool is_network_filesystem(const fs::path& path) {
  fs::path probe = path;
  struct statfs st {};
  // The nearest existing ancestor decides: the file may not exist yet.
  while (::statfs(probe.c_str(), &st) != 0) {
    if (!probe.has_parent_path() || probe.parent_path() == probe) {
      return false;
    }
    probe = probe.parent_path();
  }
  return detail::is_network_filesystem_type(static_cast<std::int64_t>(st.f_type));
}

namespace detail {

std::shared_ptr<Watcher> make_watcher_with_syscalls(const fs::path& path, WatchMode mode,
                                                    const WatcherOptions& options,
                                                    const InotifySyscalls* syscalls) {
  if (mode == WatchMode::kNone) {
    return nullptr;
  }
  if (mode == WatchMode::kPoll) {
    return make_poll_watcher(options);
  }
  Result<std::shared_ptr<Watcher>> inotify = [&]() -> Result<std::shared_ptr<Watcher>> {
    if (syscalls == nullptr) {
      return inotify_watcher();
    }
    auto w = make_inotify_watcher_for_test(options, *syscalls);
    if (!w) {
      return std::move(w).error();
    }
    return std::shared_ptr<Watcher>(std::move(*w));
  }();
  if (!inotify) {
    return poll_instead(options, path, inotify.error().message());
  }
  if (mode == WatchMode::kHybrid || (mode == WatchMode::kAuto && is_network_filesystem(path))) {
    return HybridWatcher::over(std::move(*inotify), options);
  }
  return std::move(*inotify);
}

}  // namespace detail

std::shared_ptr<Watcher> make_watcher(const fs::path& path, WatchMode mode,
                                      const WatcherOptions& options) {
  return detail::make_watcher_with_syscalls(path, mode, options, nullptr);
}

}  // namespace liveconf
