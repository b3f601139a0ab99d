#include "watch/poll/poll_watcher.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <sys/stat.h>
#include <thread>
#include <vector>
#include <xxhash.h>

#include "base/mutex.hpp"

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
  fp.dev = st.st_dev;
  fp.ino = st.st_ino;
  fp.size = st.st_size;
  fp.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  fp.mode = st.st_mode;
  if (S_ISREG(st.st_mode) && static_cast<std::uintmax_t>(st.st_size) <= kMaxHashedBytes) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    fp.hash = in.bad() ? 0 : XXH3_64bits(bytes.data(), bytes.size());
  }
  return fp;
}

// The polling thread and its entries. Shared by the watcher and its thread, so
// a watcher whose last handle is dropped inside a callback (on the polling
// thread) can detach instead of joining itself.
struct PollState {
  struct Entry {
    fs::path path;
    std::function<void()> callback;
    Fingerprint last;
  };

  explicit PollState(std::chrono::milliseconds i) : interval(i) {}

  void run() {
    while (true) {
      std::vector<std::pair<std::uint64_t, std::shared_ptr<Entry>>> snapshot;
      {
        MutexLock lk(mu);
        // Waiting on a condition with a deadline: the poll interval.
        lk.wait_for(cv, interval, [this]() LIVECONF_REQUIRES(mu) { return stopping; });
        if (stopping) {
          return;
        }
        snapshot.assign(entries.begin(), entries.end());
      }
      for (auto& [id, entry] : snapshot) {
        Fingerprint now = fingerprint(entry->path);
        if (now == entry->last) {
          continue;
        }
        entry->last = std::move(now);
        std::lock_guard<std::mutex> call(call_mu);
        {
          MutexLock lk(mu);
          if (entries.count(id) == 0) {
            continue;
          }
        }
        calling.store(std::this_thread::get_id());
        entry->callback();
        calling.store(std::thread::id());
      }
    }
  }

  void cancel(std::uint64_t id) {
    {
      MutexLock lk(mu);
      entries.erase(id);
    }
    if (calling.load() != std::this_thread::get_id()) {
      std::lock_guard<std::mutex> wait(call_mu);
    }
  }

  const std::chrono::milliseconds interval;
  Mutex mu;
  std::condition_variable cv;
  bool stopping LIVECONF_GUARDED_BY(mu) = false;
  std::map<std::uint64_t, std::shared_ptr<Entry>> entries LIVECONF_GUARDED_BY(mu);
  std::uint64_t next_id LIVECONF_GUARDED_BY(mu) = 1;
  std::thread thread;  // started by the first watch(); guarded by mu until then
  std::mutex call_mu;
  std::atomic<std::thread::id> calling{};
};

class PollWatcher final : public Watcher, public std::enable_shared_from_this<PollWatcher> {
 public:
  explicit PollWatcher(std::chrono::milliseconds interval)
      : state_(std::make_shared<PollState>(interval)) {}
  ~PollWatcher() override {
    {
      MutexLock lk(state_->mu);
      state_->stopping = true;
    }
    state_->cv.notify_all();
    if (state_->thread.joinable()) {
      if (state_->thread.get_id() == std::this_thread::get_id()) {
        state_->thread.detach();
      } else {
        state_->thread.join();
      }
    }
  }

  [[nodiscard]] std::string_view name() const noexcept override { return "poll"; }

  [[nodiscard]] Result<WatchHandle> watch(const fs::path& path,
                                          std::function<void()> on_change) override {
    auto entry = std::make_shared<PollState::Entry>();
    entry->path = path;
    entry->callback = std::move(on_change);
    entry->last = fingerprint(path);
    std::uint64_t id = 0;
    {
      MutexLock lk(state_->mu);
      id = state_->next_id++;
      state_->entries.emplace(id, std::move(entry));
      if (!state_->thread.joinable()) {
        state_->thread = std::thread([state = state_] { state->run(); });
      }
    }
    return WatchHandle([self = shared_from_this(), id] { self->state_->cancel(id); });
  }

 private:
  std::shared_ptr<PollState> state_;
};

class HybridWatcher final : public Watcher {
 public:
  HybridWatcher(std::shared_ptr<Watcher> a, std::shared_ptr<Watcher> b)
      : a_(std::move(a)), b_(std::move(b)) {}
  [[nodiscard]] std::string_view name() const noexcept override { return "hybrid"; }
  [[nodiscard]] bool busy(const fs::path& path) const override {
    return a_->busy(path) || b_->busy(path);
  }
  [[nodiscard]] Result<WatchHandle> watch(const fs::path& path,
                                          std::function<void()> on_change) override {
    auto shared = std::make_shared<std::function<void()>>(std::move(on_change));
    Result<WatchHandle> ha = a_->watch(path, [shared] { (*shared)(); });
    Result<WatchHandle> hb = b_->watch(path, [shared] { (*shared)(); });
    if (!hb) {
      return std::move(hb).error();
    }
    auto handles = std::make_shared<std::pair<WatchHandle, WatchHandle>>(
        ha ? std::move(*ha) : WatchHandle(), std::move(*hb));
    return WatchHandle([handles] {
      handles->first.cancel();
      handles->second.cancel();
    });
  }

 private:
  std::shared_ptr<Watcher> a_;
  std::shared_ptr<Watcher> b_;
};

}  // namespace

std::shared_ptr<Watcher> make_hybrid_watcher(std::shared_ptr<Watcher> a,
                                             std::shared_ptr<Watcher> b) {
  return std::make_shared<HybridWatcher>(std::move(a), std::move(b));
}

}  // namespace detail

std::shared_ptr<Watcher> make_poll_watcher(std::chrono::milliseconds interval) {
  return std::make_shared<detail::PollWatcher>(interval);
}

}  // namespace liveconf
