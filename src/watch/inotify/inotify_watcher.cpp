// inotify is awkward for configuration files: a watch follows an inode, and
// every atomic save (rename over the target), vim's backup dance and a
// Kubernetes ConfigMap update replace the inode. So this backend never watches
// files: it watches the directories on the way to each file, filters events by
// name, and after every relevant event re-resolves the path (symlinks
// included) and moves its directory watches to wherever the path now leads.
// Missing directories are handled the same way: the nearest existing ancestor
// is watched for the next path component to appear.
#include "watch/inotify/inotify_watcher.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <poll.h>
#include <set>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "base/mutex.hpp"
#include "base/stop_contract.hpp"
#include "base/warning.hpp"
#include "watch/inotify/inotify_dependencies.hpp"
#include "watch/inotify/inotify_masks.hpp"
#include "watch/poll/poll_watcher.hpp"

namespace liveconf::detail {
namespace fs = std::filesystem;
namespace {

std::string errno_text(int err) { return std::strerror(err); }

using Deps = InotifyDeps;

}  // namespace

struct InotifyWatcher::Impl {
  struct Interest {
    std::uint64_t id = 0;
    fs::path path;
    // path.lexically_normal(), for busy(): a string compare per interest
    // instead of path::compare's walk over components (busy() runs on every
    // reload, and a process may watch hundreds of paths).
    std::string normal;
    std::function<void(const ChangedEntries&)> callback;
    Deps deps;
    WatchHandle fallback;  // a poll watch when inotify could not arm it
    // The last arm_until_stable() armed every watch and resolved the same
    // dependencies twice in a row: until an event that can move the path
    // (an entry created, deleted, renamed or chmod-ed), they still hold.
    bool settled = false;
    // Regular files created at the path (or in the watched directory) whose
    // writer has not closed them yet: (dir, name).
    std::map<std::pair<std::string, std::string>, Clock::TimePoint> writing;
  };
  struct Dir {
    int wd = -1;
    dev_t dev = 0;
    ino_t ino = 0;
    std::uint32_t mask = 0;                        // what the kernel watch has
    std::map<std::uint64_t, std::uint32_t> users;  // interest -> what it needs
  };

  InotifySyscalls sys;
  WatcherOptions options;              // warn, and the fallback poller's interval and clock
  std::shared_ptr<const Clock> clock;  // the age of a `writing` mark
  int fd = -1;
  int wake_fd = -1;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> wakeups{0};  // loop iterations, for busy-loop tests

  mutable Mutex mu;
  std::map<std::uint64_t, std::shared_ptr<Interest>> interests LIVECONF_GUARDED_BY(mu);
  std::map<std::string, Dir> dirs LIVECONF_GUARDED_BY(mu);
  std::map<int, std::string> wd_dirs LIVECONF_GUARDED_BY(mu);
  std::uint64_t next_id LIVECONF_GUARDED_BY(mu) = 1;
  std::shared_ptr<Watcher> fallback_poller LIVECONF_GUARDED_BY(mu);
  std::string arm_error LIVECONF_GUARDED_BY(mu);  // why the last arm() failed

  // Callbacks run through it, so cancel() can wait for a running callback.
  CallbackGate gate;
  Mutex thread_mu;  // stop() may come from several threads

  ~Impl() {
    if (fd >= 0) {
      ::close(fd);
    }
    if (wake_fd >= 0) {
      ::close(wake_fd);
    }
  }

  void stop() {
    if (!stopping.exchange(true)) {
      const std::uint64_t one = 1;
      (void)!::write(wake_fd, &one, sizeof(one));
    }
    MutexLock control(thread_mu);
    join_unless_self(thread);
  }

  // The process-wide instance belongs to no manager, so no log sink of its own.
  void report(std::string_view message) { warn_to_sink_or_stderr(options.warn, message); }

  // Points the directory watches of `in` at what its path depends on now.
  // Returns false when a watch could not be added (the interest then polls).
  bool arm(Interest& in) LIVECONF_REQUIRES(mu) {
    Deps deps = resolve_dependencies(in.path);
    std::map<std::string, std::uint32_t> wanted;
    for (const auto& [key, mask] : deps) {
      wanted[key.first] |= mask;
    }
    bool ok = true;
    for (const auto& [dir, need] : wanted) {
      struct stat st {};
      if (::stat(dir.c_str(), &st) != 0) {
        continue;
      }
      auto it = dirs.find(dir);
      if (it != dirs.end() && (it->second.dev != st.st_dev || it->second.ino != st.st_ino)) {
        // The path now names another directory (renamed away, a new one moved
        // in): forget the old watch, whose events now describe the old one.
        drop_dir(it->first);
        it = dirs.end();
      }
      if (it == dirs.end()) {
        it = dirs.emplace(dir, Dir{-1, st.st_dev, st.st_ino, 0, {}}).first;
      }
      Dir& d = it->second;
      d.users[in.id] = need;
      const std::uint32_t merged = d.mask | need;  // merged masks: never clobber another's
      if (merged != d.mask || d.wd < 0) {
        const int wd = sys.add_watch(fd, dir.c_str(), merged | kWatchFlags);
        if (wd < 0) {
          const int err = errno;
          arm_error = "inotify cannot watch " + dir + " (" + errno_text(err) +
                      (err == ENOSPC ? "; raise fs.inotify.max_user_watches" : "") + ")";
          d.users.erase(in.id);
          if (d.users.empty() && d.wd < 0) {
            dirs.erase(it);
          }
          ok = false;
          continue;
        }
        d.wd = wd;
        d.mask = merged;
        wd_dirs[wd] = dir;
      }
    }
    for (const auto& [key, mask] : in.deps) {
      if (wanted.count(key.first) == 0) {
        release_dir(key.first, in.id);
      }
    }
    std::erase_if(in.writing, [&](const auto& w) { return wanted.count(w.first.first) == 0; });
    in.deps = std::move(deps);
    return ok;
  }

  // Resolves until nothing moves: a directory created while we armed the
  // previous level is seen on the next round instead of being missed.
  bool arm_until_stable(Interest& in) LIVECONF_REQUIRES(mu) {
    bool ok = true;
    in.settled = false;
    for (int round = 0; round < kMaxArmRounds; ++round) {
      const Deps before = in.deps;
      ok = arm(in);
      if (!ok || in.deps == before) {
        in.settled = ok;
        break;
      }
    }
    return ok;
  }

  void release_dir(const std::string& dir, std::uint64_t id) LIVECONF_REQUIRES(mu) {
    auto it = dirs.find(dir);
    if (it == dirs.end()) {
      return;
    }
    it->second.users.erase(id);
    if (it->second.users.empty()) {
      drop_dir(dir);
    }
  }

  void drop_dir(const std::string& dir) LIVECONF_REQUIRES(mu) {
    auto it = dirs.find(dir);
    if (it == dirs.end()) {
      return;
    }
    const int wd = it->second.wd;
    if (auto w = wd_dirs.find(wd); w != wd_dirs.end() && w->second == dir) {
      wd_dirs.erase(w);
      (void)sys.rm_watch(fd, wd);
    }
    dirs.erase(it);
  }

  // After a queue overflow nothing we know about our watches can be trusted:
  // a directory deleted and re-created meanwhile may have the same inode
  // number (ext4, tmpfs reuse them) while the kernel dropped its watch, and
  // the IN_CLOSE_WRITE that ends a `writing` mark may be among the lost
  // events. So every watch is removed (EINVAL for those the kernel dropped:
  // ignored) and every interest re-armed from scratch by the caller; events
  // still queued for the old descriptors are ignored, and the rescan that
  // follows (every callback is called) covers what happened in between.
  void forget_every_watch() LIVECONF_REQUIRES(mu) {
    for (const auto& [wd, dir] : wd_dirs) {
      (void)sys.rm_watch(fd, wd);
    }
    wd_dirs.clear();
    dirs.clear();
    for (auto& [id, in] : interests) {
      in->deps.clear();
      in->writing.clear();
    }
  }

  void arm_or_fallback(const std::shared_ptr<Interest>& in) LIVECONF_REQUIRES(mu) {
    if (arm_until_stable(*in) || in->fallback.active()) {
      return;
    }
    fallback_poller = poll_instead(options, in->path, arm_error, fallback_poller);
    std::weak_ptr<Interest> weak = in;
    Result<WatchHandle> h = fallback_poller->watch(in->path, [this, weak] {
      if (auto strong = weak.lock()) {
        invoke({{strong, ChangedEntries::everything()}});
      }
    });
    if (h) {
      in->fallback = std::move(*h);
    }
  }

  void invoke(const std::vector<std::pair<std::shared_ptr<Interest>, ChangedEntries>>& targets) {
    gate.run([&] {
      for (const auto& [in, changed] : targets) {
        {
          MutexLock lk(mu);
          if (interests.count(in->id) == 0) {
            continue;  // cancelled meanwhile
          }
        }
        in->callback(changed);
      }
    });
  }

  void run() {
    alignas(struct inotify_event) std::array<char, 64 * 1024> buf{};
    std::array<pollfd, 2> fds{{{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}}};
    while (!stopping.load()) {
      const int n = ::poll(fds.data(), fds.size(), -1);
      wakeups.fetch_add(1, std::memory_order_relaxed);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        report("inotify poll failed: " + errno_text(errno));
        return;
      }
      if (stopping.load()) {
        return;
      }
      if ((fds[0].revents & POLLIN) == 0) {
        continue;
      }
      const ssize_t len = ::read(fd, buf.data(), buf.size());
      if (len <= 0) {
        continue;
      }
      handle_events(buf.data(), static_cast<std::size_t>(len));
    }
  }

  static bool depends_on(const Interest& in, const std::string& dir, const std::string& name) {
    return in.deps.count({dir, name}) != 0 || in.deps.count({dir, "*"}) != 0;
  }

  void handle_events(const char* data, std::size_t len) {
    std::map<std::uint64_t, ChangedEntries> hit;
    std::set<std::uint64_t> moved;  // events that may change what the path resolves to
    bool overflow = false;
    {
      MutexLock lk(mu);
      for (std::size_t off = 0; off < len;) {
        const auto* ev = reinterpret_cast<const struct inotify_event*>(data + off);  // NOLINT
        off += sizeof(struct inotify_event) + ev->len;
        if ((ev->mask & IN_Q_OVERFLOW) != 0) {
          overflow = true;
          continue;
        }
        auto d = wd_dirs.find(ev->wd);
        if (d == wd_dirs.end()) {
          continue;  // a directory we let go of (or renamed away): ignore it
        }
        const std::string dir = d->second;
        auto it = dirs.find(dir);
        if (it == dirs.end()) {
          continue;
        }
        if ((ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) != 0) {
          // The directory went away: every interest through it re-arms from
          // the nearest existing ancestor, and hears about it.
          for (const auto& [id, mask] : it->second.users) {
            hit[id] = ChangedEntries::everything();
            moved.insert(id);
          }
          if ((ev->mask & IN_MOVE_SELF) != 0) {
            // Renamed away, still alive elsewhere: its kernel watch would live
            // on and report the old directory's events. Deleted ones are
            // removed by the kernel (IN_IGNORED follows).
            (void)sys.rm_watch(fd, ev->wd);
          }
          wd_dirs.erase(d);
          dirs.erase(it);
          continue;
        }
        const std::string name = ev->len > 0 ? std::string(ev->name) : std::string();
        for (const auto& [id, mask] : it->second.users) {
          auto in = interests.find(id);
          if (in == interests.end() || !depends_on(*in->second, dir, name)) {
            continue;
          }
          Interest& target = *in->second;
          if ((ev->mask & IN_CREATE) != 0 && (ev->mask & IN_ISDIR) == 0) {
            // A new regular file is being written until its writer closes it
            // (IN_CLOSE_WRITE): busy() says so and the reload waits. A hard
            // link arrives complete. O_TMPFILE + linkat also arrives complete
            // but looks the same as a file being written; the manager's
            // max_wait bounds how long it is held.
            struct stat st {};
            const fs::path p = fs::path(dir) / name;
            if (::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink <= 1) {
              target.writing[{dir, name}] = clock->now();
            }
          } else if ((ev->mask & (IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) != 0) {
            target.writing.erase({dir, name});
          }
          // An entry of the watched directory (its "*") that nothing else
          // depends on by name (not a symlink on some path's way) is named;
          // anything else may change any entry.
          ChangedEntries& changed = hit[id];
          if (!changed.all && !name.empty() && target.deps.count({dir, "*"}) != 0 &&
              target.deps.count({dir, name}) == 0) {
            changed.names.push_back(name);
          } else {
            changed = ChangedEntries::everything();
          }
          if ((ev->mask & kMovesPathMask) != 0) {
            moved.insert(id);
          }
        }
      }
      if (overflow) {
        for (const auto& [id, in] : interests) {
          hit[id] = ChangedEntries::everything();
        }
      }
    }
    fire(hit, moved, overflow);
  }

  // Calls back every interest in `ids`, re-arming those in `moved` first
  // (all of them after an overflow). An interest that did not settle, or
  // polls because it could not arm, re-arms on every event. The usual
  // event, a file in a conf.d directory of thousands written and closed,
  // then costs no directory listing.
  void fire(std::map<std::uint64_t, ChangedEntries>& ids, const std::set<std::uint64_t>& moved,
            bool overflow) {
    std::vector<std::pair<std::shared_ptr<Interest>, ChangedEntries>> targets;
    {
      MutexLock lk(mu);
      if (overflow) {
        report("inotify queue overflowed; rescanning every watched path");
        forget_every_watch();
      }
      for (auto& [id, changed] : ids) {
        auto it = interests.find(id);
        if (it == interests.end()) {
          continue;
        }
        if (overflow || !it->second->settled || moved.count(id) != 0) {
          arm_or_fallback(it->second);
        }
        std::sort(changed.names.begin(), changed.names.end());
        changed.names.erase(std::unique(changed.names.begin(), changed.names.end()),
                            changed.names.end());
        targets.emplace_back(it->second, std::move(changed));
      }
    }
    if (!targets.empty()) {
      invoke(targets);
    }
  }

  void cancel(std::uint64_t id) {
    std::shared_ptr<Interest> in;
    {
      MutexLock lk(mu);
      auto it = interests.find(id);
      if (it == interests.end()) {
        return;
      }
      in = it->second;
      interests.erase(it);
      std::set<std::string> used;
      for (const auto& [key, mask] : in->deps) {
        used.insert(key.first);
      }
      for (const std::string& dir : used) {
        release_dir(dir, id);
      }
    }
    in->fallback.cancel();
    gate.wait_unless_inside();  // a running callback finishes first
  }
};

Result<std::shared_ptr<InotifyWatcher>> InotifyWatcher::create(const WatcherOptions& options) {
  return create_with_syscalls(options, InotifySyscalls{});
}

Result<std::shared_ptr<InotifyWatcher>> make_inotify_watcher_for_test(
    const WatcherOptions& options, const InotifySyscalls& syscalls) {
  return InotifyWatcher::create_with_syscalls(options, syscalls);
}

Result<std::shared_ptr<InotifyWatcher>> InotifyWatcher::create_with_syscalls(
    const WatcherOptions& options, const InotifySyscalls& syscalls) {
  auto impl = std::make_shared<Impl>();
  impl->sys = syscalls;
  impl->options = options;
  impl->clock = options.clock ? options.clock : steady_clock_source();
  impl->fd = impl->sys.init1(IN_NONBLOCK | IN_CLOEXEC);
  if (impl->fd < 0) {
    const int err = errno;
    return Error(ErrorCode::kIo,
                 "inotify_init1 failed: " + errno_text(err) +
                     (err == EMFILE ? " (fs.inotify.max_user_instances reached)" : ""));
  }
  impl->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->wake_fd < 0) {
    return Error(ErrorCode::kIo, "eventfd failed: " + errno_text(errno));
  }
  // The thread co-owns the state: if the last handle is dropped inside a
  // callback (on this very thread), the watcher detaches instead of joining
  // itself, and the state lives until the thread has returned.
  MutexLock control(impl->thread_mu);
  impl->thread = std::thread([impl] { impl->run(); });
  return std::shared_ptr<InotifyWatcher>(new InotifyWatcher(impl));
}

InotifyWatcher::InotifyWatcher(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

InotifyWatcher::~InotifyWatcher() { stop(); }

void InotifyWatcher::stop() { impl_->stop(); }

Result<WatchHandle> InotifyWatcher::watch(const fs::path& path, std::function<void()> on_change) {
  return watch_entries(path, [fn = std::move(on_change)](const ChangedEntries&) { fn(); });
}

Result<WatchHandle> InotifyWatcher::watch_entries(
    const fs::path& path, std::function<void(const ChangedEntries&)> on_change) {
  auto in = std::make_shared<Impl::Interest>();
  in->path = path.is_absolute() ? path : fs::absolute(path);
  in->normal = in->path.lexically_normal().native();
  in->callback = std::move(on_change);
  std::uint64_t id = 0;
  {
    MutexLock lk(impl_->mu);
    id = impl_->next_id++;
    in->id = id;
    impl_->interests.emplace(id, in);
    if (!impl_->arm_until_stable(*in)) {
      // Could not arm even the first time (ENOSPC): let the caller choose a
      // fallback, leaving no half-registered interest behind.
      std::set<std::string> used;
      for (const auto& [key, mask] : in->deps) {
        used.insert(key.first);
      }
      for (const std::string& dir : used) {
        impl_->release_dir(dir, id);
      }
      impl_->interests.erase(id);
      return Error(ErrorCode::kIo, impl_->arm_error + "; cannot watch " + in->path.string());
    }
  }
  // The handle keeps the watcher (and its thread) alive while it exists.
  return WatchHandle([self = shared_from_this(), id] { self->impl_->cancel(id); });
}

bool InotifyWatcher::busy(const fs::path& path) const {
  const std::string normal =
      (path.is_absolute() ? path : fs::absolute(path)).lexically_normal().native();
  MutexLock lk(impl_->mu);
  for (const auto& [id, in] : impl_->interests) {
    if (in->writing.empty() || in->normal != normal) {
      continue;
    }
    // A writer that never closes (it crashed, or O_TMPFILE + linkat) stops
    // counting after a while; the manager's max_wait bounds each burst anyway.
    const auto now = impl_->clock->now();
    for (const auto& [entry, since] : in->writing) {
      if (now - since < std::chrono::seconds(10)) {
        return true;
      }
    }
  }
  return false;
}

void InotifyWatcher::inject_overflow_for_test() {
  std::map<std::uint64_t, ChangedEntries> all;
  std::set<std::uint64_t> ids;
  {
    MutexLock lk(impl_->mu);
    for (const auto& [id, in] : impl_->interests) {
      all[id] = ChangedEntries::everything();
      ids.insert(id);
    }
  }
  impl_->fire(all, ids, true);
}

std::size_t InotifyWatcher::watch_count_for_test() const {
  MutexLock lk(impl_->mu);
  return impl_->dirs.size();
}

std::uint64_t InotifyWatcher::wakeups_for_test() const {
  return impl_->wakeups.load(std::memory_order_relaxed);
}

}  // namespace liveconf::detail
