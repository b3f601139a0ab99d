#include "python/directory_watch.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sys/stat.h>
#include <tuple>
#include <utility>
#include <xxhash.h>

namespace liveconf::python {
namespace fs = std::filesystem;
namespace {

// A burst of writes settles within this; a file still open for writing holds
// the scan back at most this long (then its current bytes are reported).
constexpr std::chrono::milliseconds kMaxHold{2000};
// Larger files are compared by size and mtime only.
constexpr std::uint64_t kMaxHashedBytes = 64ULL << 20;

std::uint64_t content_hash(const fs::path& p, std::uint64_t size) {
  if (size > kMaxHashedBytes) {
    return 0;
  }
  std::ifstream in(p, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return XXH3_64bits(bytes.data(), bytes.size());
}

struct Event {
  const char* kind;
  std::string src;
  std::string dest;
  bool directory;
};

}  // namespace

DirectoryWatch::DirectoryWatch(fs::path path, bool recursive, std::chrono::milliseconds settle,
                               py::object callback)
    : path_(std::move(path)),
      recursive_(recursive),
      settle_(settle),
      callback_(std::move(callback)),
      watcher_(make_watcher(path_, WatchMode::kAuto)) {}

DirectoryWatch::~DirectoryWatch() {
  // Python destroys this with the GIL held; the thread may be waiting for it.
  if (!finalizing() && PyGILState_Check() != 0) {
    py::gil_scoped_release release;
    stop();
  } else {
    stop();
  }
}

void DirectoryWatch::start() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (started_) {
      return;
    }
    started_ = true;
  }
  // Armed before the baseline is taken, and both before start() returns: a
  // change made after start() is always reported.
  rewatch(Listing{});
  Listing baseline = scan();
  rewatch(baseline);
  thread_ =
      std::thread([this, baseline = std::move(baseline)]() mutable { run(std::move(baseline)); });
}

void DirectoryWatch::stop() {
  std::map<std::string, WatchHandle> handles;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
    handles.swap(handles_);
  }
  cv_.notify_all();
  handles.clear();  // cancels: no signal() runs after this
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // stop() from our own callback: the loop ends after it
      return;
    }
    thread_.join();
  }
}

bool DirectoryWatch::running() const {
  std::lock_guard<std::mutex> lk(mu_);
  return started_ && !stopping_;
}

std::uint64_t DirectoryWatch::scans() const {
  std::lock_guard<std::mutex> lk(mu_);
  return scans_;
}

void DirectoryWatch::signal() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    signalled_ = true;
  }
  cv_.notify_all();
}

DirectoryWatch::Listing DirectoryWatch::scan() const {
  Listing out;
  auto add = [&](const fs::path& p) {
    // Symlinks are followed: a Kubernetes ConfigMap's app.json -> ..data/app.json
    // changes when ..data is swapped, though the link itself never does. A
    // dangling link is reported as itself.
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 && ::lstat(p.c_str(), &st) != 0) {
      return;  // gone since listed
    }
    Entry e;
    e.directory = S_ISDIR(st.st_mode);
    e.device = static_cast<std::uint64_t>(st.st_dev);
    e.inode = static_cast<std::uint64_t>(st.st_ino);
    if (!e.directory) {
      e.size = static_cast<std::uint64_t>(st.st_size);
      e.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      if (S_ISREG(st.st_mode)) {
        e.hash = content_hash(p, e.size);
      }
    }
    out.emplace(p.string(), e);
  };
  std::error_code ec;
  if (!fs::is_directory(path_, ec)) {
    add(path_);  // one file (or nothing yet)
    return out;
  }
  if (recursive_) {
    for (auto it = fs::recursive_directory_iterator(path_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      add(it->path());
    }
  } else {
    for (auto it = fs::directory_iterator(path_, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      add(it->path());
    }
  }
  return out;
}

void DirectoryWatch::rewatch(const Listing& listing) {
  std::set<std::string> wanted = {path_.string()};
  if (recursive_) {
    for (const auto& [p, e] : listing) {
      if (e.directory) {
        wanted.insert(p);
      }
    }
  }
  std::lock_guard<std::mutex> lk(mu_);
  if (stopping_) {
    return;
  }
  for (auto it = handles_.begin(); it != handles_.end();) {
    it = wanted.count(it->first) != 0 ? std::next(it) : handles_.erase(it);
  }
  for (const std::string& dir : wanted) {
    if (handles_.count(dir) != 0) {
      continue;
    }
    Result<WatchHandle> h = watcher_->watch(dir, [this] { signal(); });
    if (h) {
      handles_.emplace(dir, std::move(*h));
    }
  }
}

void DirectoryWatch::run(Listing listing) {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stopping_) {
    cv_.wait(lk, [&] { return stopping_ || signalled_; });
    if (stopping_) {
      break;
    }
    // Settle: a quiet period after the last signal, and no writer still
    // holding a new file open, within kMaxHold of the first signal.
    const auto first = std::chrono::steady_clock::now();
    for (;;) {
      signalled_ = false;
      const bool again = cv_.wait_for(lk, settle_, [&] { return stopping_ || signalled_; });
      if (stopping_) {
        return;
      }
      const bool late = std::chrono::steady_clock::now() - first >= kMaxHold;
      if (late) {
        break;
      }
      if (again) {
        continue;
      }
      lk.unlock();
      const bool busy = watcher_->busy(path_);
      lk.lock();
      if (!busy) {
        break;
      }
      cv_.wait_for(lk, settle_, [&] { return stopping_; });
    }
    signalled_ = false;
    ++scans_;
    lk.unlock();

    Listing next = scan();
    rewatch(next);
    std::vector<Event> found;
    {
      // Entries that went away or were replaced by another inode, by inode.
      std::map<std::pair<std::uint64_t, std::uint64_t>, std::string> gone;
      for (const auto& [p, e] : listing) {
        auto it = next.find(p);
        if (it == next.end() || it->second.inode != e.inode || it->second.device != e.device) {
          gone.emplace(std::make_pair(e.device, e.inode), p);
        }
      }
      std::set<std::string> moved_away;
      for (const auto& [p, e] : next) {
        auto before = listing.find(p);
        const bool same_inode = before != listing.end() && before->second.inode == e.inode &&
                                before->second.device == e.device;
        if (same_inode) {
          if (!e.directory && (before->second.hash != e.hash || before->second.size != e.size ||
                               (e.hash == 0 && before->second.mtime_ns != e.mtime_ns))) {
            found.push_back({"modified", p, "", false});
          }
          continue;
        }
        auto from = gone.find({e.device, e.inode});
        if (from != gone.end() && from->second != p) {
          found.push_back({"moved", from->second, p, e.directory});
          moved_away.insert(from->second);
        } else if (before != listing.end()) {
          // Replaced by an inode we never saw (written elsewhere, renamed in).
          if (e.directory != before->second.directory || e.hash != before->second.hash ||
              e.hash == 0) {
            found.push_back({"modified", p, "", e.directory});
          }
        } else {
          found.push_back({"created", p, "", e.directory});
        }
      }
      for (const auto& [key, p] : gone) {
        if (moved_away.count(p) == 0 && next.count(p) == 0) {
          found.push_back({"deleted", p, "", listing.at(p).directory});
        }
      }
    }
    listing = std::move(next);
    if (!found.empty() && !finalizing()) {
      py::gil_scoped_acquire gil;
      try {
        py::list events;
        for (const Event& ev : found) {
          events.append(py::make_tuple(
              ev.kind, ev.src,
              ev.dest.empty() ? py::object(py::none()) : py::object(py::str(ev.dest)),
              ev.directory));
        }
        callback_.get()(events);
      } catch (py::error_already_set& e) {
        e.discard_as_unraisable("liveconf Observer callback");
      }
    }
    lk.lock();
  }
}

}  // namespace liveconf::python
