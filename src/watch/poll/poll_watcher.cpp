#include "watch/poll/poll_watcher.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>
#include <xxhash.h>

#include "base/clock_condition.hpp"
#include "base/mutex.hpp"
#include "base/stop_contract.hpp"
#include "base/warning.hpp"

namespace liveconf {
namespace detail {
namespace {
namespace fs = std::filesystem;

// Content is hashed up to this size; larger files compare by identity, size and mtime.
constexpr std::uintmax_t kMaxHashedBytes = std::uintmax_t{64} << 20;

struct Fingerprint {
  bool exists = false;
  int error = 0;
  std::string target;  // resolved path (symlink retargets change it)
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;
  mode_t mode = 0;
  XXH64_hash_t hash = 0;
  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
};

Fingerprint fingerprint(const fs::path& path) {
  Fingerprint fp;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    fp.error = errno;
    return fp;
  }
  if (S_ISDIR(st.st_mode)) {
    // A conf.d directory: the fingerprints of its entries, in name order.
    fp.exists = true;
    fp.dev = st.st_dev;
    fp.ino = st.st_ino;
    std::error_code ec;
    std::vector<fs::path> names;
    for (const auto& e : fs::directory_iterator(path, ec)) {
      names.push_back(e.path());
    }
    std::sort(names.begin(), names.end());
    std::string all;
    for (const fs::path& p : names) {
      struct stat es {};
      if (::stat(p.c_str(), &es) == 0 && S_ISREG(es.st_mode)) {
        Fingerprint child = fingerprint(p);
        all += p.filename().string() + ":" + std::to_string(child.hash) + ":" +
               std::to_string(child.size) + ":" + std::to_string(child.mode) + ";";
      }
    }
    fp.hash = XXH3_64bits(all.data(), all.size());
    return fp;
  }
  fp.exists = true;
  std::error_code ec;
  fp.target = fs::canonical(path, ec).string();
  // The stamp and the content come from one open file: a save renamed over
  // `path` between a stat by name and the read would give the old file's
  // stamp with the new content, and the next poll a second change for one
  // save. A file that cannot be opened keeps the stat by name (no hash).
  const int fd = S_ISREG(st.st_mode) ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC) : -1;
  if (fd >= 0 && ::fstat(fd, &st) != 0) {
    fp.error = errno;
  }
  fp.dev = st.st_dev;
  fp.ino = st.st_ino;
  fp.size = st.st_size;
  fp.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  fp.mode = st.st_mode;
  if (fd >= 0 && static_cast<std::uintmax_t>(st.st_size) <= kMaxHashedBytes) {
    XXH3_state_t* state = XXH3_createState();
    if (state != nullptr && XXH3_64bits_reset(state) == XXH_OK) {
      std::array<char, 64 * 1024> buf;
      ssize_t n = 0;
      while ((n = ::read(fd, buf.data(), buf.size())) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0) {
          XXH3_64bits_update(state, buf.data(), static_cast<std::size_t>(n));
        }
      }
      fp.hash = n < 0 ? 0 : XXH3_64bits_digest(state);
    }
    XXH3_freeState(state);
  }
  if (fd >= 0) {
    ::close(fd);
  }
  return fp;
}

}  // namespace

// The polling thread and its entries. Shared by the watcher and its thread, so
// a watcher whose last handle is dropped inside a callback (on the polling
// thread) can detach instead of joining itself.
struct PollWatcher::State {
  struct Entry {
    fs::path path;
    std::function<void()> callback;
    Fingerprint last;
  };

  explicit State(const WatcherOptions& options)
      : interval(options.poll_interval), wake(options.clock, mu) {}

  void run() {
    while (true) {
      std::vector<std::pair<std::uint64_t, std::shared_ptr<Entry>>> snapshot;
      {
        MutexLock lk(mu);
        // Waiting on a condition with a deadline on the clock: the poll interval.
        wake.wait_until(lk, wake.now() + interval,
                        [this]() LIVECONF_REQUIRES(mu) { return stopping; });
        if (stopping) {
          return;
        }
        snapshot.assign(entries.begin(), entries.end());
      }
      for (auto& item : snapshot) {
        const std::uint64_t id = item.first;
        const std::shared_ptr<Entry>& entry = item.second;
        Fingerprint now = fingerprint(entry->path);
        if (now == entry->last) {
          continue;
        }
        entry->last = std::move(now);
        gate.run([&] {
          {
            MutexLock lk(mu);
            if (entries.count(id) == 0) {
              return;  // cancelled meanwhile
            }
          }
          entry->callback();
        });
      }
    }
  }

  void cancel(std::uint64_t id) {
    {
      MutexLock lk(mu);
      entries.erase(id);
    }
    gate.wait_unless_inside();
  }

  void stop() {
    {
      MutexLock lk(mu);
      stopping = true;
    }
    wake.notify_all();
    MutexLock control(thread_mu);
    join_unless_self(thread);
  }

  const std::chrono::milliseconds interval;
  Mutex mu;
  ClockCondition wake;
  bool stopping LIVECONF_GUARDED_BY(mu) = false;
  std::map<std::uint64_t, std::shared_ptr<Entry>> entries LIVECONF_GUARDED_BY(mu);
  std::uint64_t next_id LIVECONF_GUARDED_BY(mu) = 1;
  Mutex thread_mu;
  std::thread thread LIVECONF_GUARDED_BY(thread_mu);  // started by the first watch()
  CallbackGate gate;
};

Result<std::shared_ptr<PollWatcher>> PollWatcher::create(const WatcherOptions& options) {
  return std::shared_ptr<PollWatcher>(new PollWatcher(std::make_shared<State>(options)));
}

PollWatcher::PollWatcher(std::shared_ptr<State> state) : state_(std::move(state)) {}

PollWatcher::~PollWatcher() { stop(); }

void PollWatcher::stop() { state_->stop(); }

Result<WatchHandle> PollWatcher::watch(const fs::path& path, std::function<void()> on_change) {
  auto entry = std::make_shared<State::Entry>();
  entry->path = path;
  entry->callback = std::move(on_change);
  entry->last = fingerprint(path);
  std::uint64_t id = 0;
  // thread_mu first: a stop() that has set `stopping` but not yet taken
  // thread_mu joins the thread started here; one that has joined already is
  // seen as `stopping`, and no thread is left behind unjoined.
  MutexLock control(state_->thread_mu);
  {
    MutexLock lk(state_->mu);
    if (state_->stopping) {
      return Error(ErrorCode::kCancelled, "the poll watcher was stopped");
    }
    id = state_->next_id++;
    state_->entries.emplace(id, std::move(entry));
  }
  if (!state_->thread.joinable()) {
    state_->thread = std::thread([state = state_] { state->run(); });
  }
  return WatchHandle([self = shared_from_this(), id] { self->state_->cancel(id); });
}

std::shared_ptr<Watcher> poll_instead(const WatcherOptions& options, const fs::path& path,
                                      std::string_view why, std::shared_ptr<Watcher> poller) {
  warn_to_sink_or_stderr(options.warn, std::string(why) + "; polling " + path.string() + " every " +
                                           std::to_string(options.poll_interval.count()) +
                                           "ms instead");
  if (poller) {
    return poller;
  }
  return std::move(*PollWatcher::create(options));
}

}  // namespace detail

std::shared_ptr<Watcher> make_poll_watcher(const WatcherOptions& options) {
  return std::move(*detail::PollWatcher::create(options));
}

}  // namespace liveconf
