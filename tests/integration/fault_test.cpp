// Fault injection (issue 7, item 4) through seams, with real files and the
// real inotify: EACCES and EIO from the file calls, a source, validator, log
// or event callback that throws, a subscriber that blocks for seconds, and
// allocation failure at every allocation of a reload on the update thread.
// In every case the old snapshot keeps serving and the manager keeps working.
//
// This executable replaces the global operator new (below) so a test can make
// one chosen allocation on one chosen thread fail with std::bad_alloc.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/bind.hpp"
#include "liveconf/source.hpp"
#include "liveconf/store.hpp"

#include "sources/file/file_source.hpp"
#include "sources/file/read_file.hpp"
#include "testutil/save_patterns.hpp"
#include "testutil/temp_dir.hpp"

// --- Allocation failure seam ---------------------------------------------------------------------

namespace {
// When g_countdown >= 0, the allocation on g_fail_thread that finds it at 0
// throws std::bad_alloc (once: the counter then goes negative).
std::atomic<std::thread::id> g_fail_thread{};
std::atomic<long> g_countdown{-1};
std::atomic<long> g_injected{0};

void* allocate(std::size_t n) {
  if (g_countdown.load(std::memory_order_relaxed) >= 0 &&
      std::this_thread::get_id() == g_fail_thread.load(std::memory_order_relaxed) &&
      g_countdown.fetch_sub(1, std::memory_order_relaxed) == 0) {
    g_injected.fetch_add(1, std::memory_order_relaxed);
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    return p;
  }
  throw std::bad_alloc();
}
}  // namespace

// GCC (at -O1 and up) sees free() after an inlined operator new and calls it
// a mismatch; here free() is the right pair: this operator new is malloc.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// Every replaceable form, so nothing allocated here is freed by another
// allocator (ASan checks alloc/dealloc pairs; libstdc++ uses the nothrow and
// aligned forms too, e.g. std::stable_sort's temporary buffer).
void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void* operator new(std::size_t n, std::align_val_t al) {
  void* p = nullptr;
  if (void* probe = allocate(1)) {  // the same failure point as any allocation
    std::free(probe);
  }
  if (::posix_memalign(&p, std::max(static_cast<std::size_t>(al), sizeof(void*)), n == 0 ? 1 : n) !=
      0) {
    throw std::bad_alloc();
  }
  return p;
}
void* operator new[](std::size_t n, std::align_val_t al) { return operator new(n, al); }
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return operator new(n, al);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t& t) noexcept {
  return operator new(n, al, t);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

#pragma GCC diagnostic pop

namespace liveconf::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr Debounce kFast{5ms, 500ms};
constexpr std::string_view kName = "app";

// The update thread's id, recorded by a validator (validators run there).
std::atomic<std::thread::id> g_update_thread{};

struct Cfg {
  int n = 0;
  std::string s = "x";
};

void liveconf_describe(Describer<Cfg>& d) {
  d.name("Cfg");
  d.field("n", &Cfg::n).min(0);
  d.field("s", &Cfg::s);
  d.validate([](const Cfg& c) -> Status {
    g_update_thread.store(std::this_thread::get_id());
    if (c.s == "throw") {
      throw std::runtime_error("validator exploded");
    }
    return ok_status();
  });
}

Value one(std::string_view key, std::string_view value) {
  Value v = Value::object();
  v.set(KeyPath(key), Value(value));
  return v;
}

std::string doc(int n, std::string_view s = "x") {
  return "{\"n\": " + std::to_string(n) + ", \"s\": \"" + std::string(s) + "\"}\n";
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ManagerOptions o;
    o.log = [this](LogLevel, std::string_view m) {
      std::lock_guard<std::mutex> lk(mu_);
      logs_.emplace_back(m);
    };
    make_manager(std::move(o));
  }
  void TearDown() override {
    g_countdown = -1;
    manager_.reset();
  }

  void make_manager(ManagerOptions o) {
    manager_.reset();
    manager_ = std::make_unique<ConfigManager>(std::move(o));
    ASSERT_TRUE(manager_->register_config<Cfg>(std::string(kName)).ok());
  }

  Status add_file(const fs::path& path,
                  std::shared_ptr<const detail::FileSyscalls> syscalls = nullptr) {
    FileSourceOptions o;
    o.path = path;
    o.debounce = kFast;
    Result<std::unique_ptr<Source>> s =
        detail::make_file_source_with_hooks(std::move(o), {.file_syscalls = std::move(syscalls)});
    if (!s) {
      return s.status();
    }
    return manager_->add_source(kName, std::move(*s));
  }

  int n() const { return manager_->get<Cfg>(kName).value()->n; }
  bool wait_n(int want, std::chrono::milliseconds timeout = 10s) const {
    return wait_until([&] { return n() == want; }, timeout);
  }
  std::optional<SourceStatus> source(const fs::path& path) const {
    const ConfigStatus st = manager_->status(kName).value();
    for (const SourceStatus& s : st.sources) {
      if (s.name == "file:" + path.string()) {
        return s;
      }
    }
    return std::nullopt;
  }
  std::string logs() {
    std::lock_guard<std::mutex> lk(mu_);
    std::string out;
    for (const std::string& l : logs_) {
      out += l + "\n";
    }
    return out;
  }

  TempDir dir;
  std::unique_ptr<ConfigManager> manager_;
  std::mutex mu_;
  std::vector<std::string> logs_;
};

// --- EACCES and EIO from the file calls ----------------------------------------------------------

// The real calls, except while `open_errno` / `read_errno` is set (and fewer
// than `fail_times` failures were injected); read fails only after the first
// chunk, so a partial read must be thrown away, never parsed. Shared with the
// source, which may still reload after the test body ends.
struct FaultyCalls : std::enable_shared_from_this<FaultyCalls> {
  std::atomic<int> open_errno{0};
  std::atomic<int> read_errno{0};
  std::atomic<int> failures{0};
  std::atomic<int> fail_times{1 << 30};  // how many failures before the faults clear

  std::shared_ptr<const detail::FileSyscalls> syscalls() {
    auto calls = std::make_shared<detail::FileSyscalls>();
    calls->open = [self = shared_from_this()](const char* path, int flags) {
      if (const int e = self->open_errno.load(); e != 0 && self->failures < self->fail_times) {
        ++self->failures;
        errno = e;
        return -1;
      }
      return ::open(path, flags);
    };
    calls->read = [self = shared_from_this()](int fd, void* buf, std::size_t n) -> ssize_t {
      if (const int e = self->read_errno.load(); e != 0 && self->failures < self->fail_times) {
        if (::lseek(fd, 0, SEEK_CUR) > 0) {  // after the first chunk
          ++self->failures;
          errno = e;
          return -1;
        }
      }
      // At most 64 KiB a call, as some filesystems (FUSE) return: a larger
      // file takes a second read, which is where the fault is injected.
      return ::read(fd, buf, std::min<std::size_t>(n, 65536));
    };
    return calls;
  }
};

TEST_F(FaultTest, EaccesOnOpenKeepsLastGoodNamesTheFileAndRecoversOnTheNextChange) {
  auto calls = std::make_shared<FaultyCalls>();
  const fs::path app = dir.write("app.json", doc(1));
  ASSERT_TRUE(add_file(app, calls->syscalls()).ok());
  ASSERT_EQ(n(), 1);

  calls->open_errno = EACCES;
  atomic_save(app, doc(2));
  ASSERT_TRUE(wait_until([&] { return source(app)->state == SourceState::kError; }))
      << "state " << source_state_name(source(app)->state) << ", loads " << source(app)->loads
      << ", n " << n() << ", failures " << calls->failures << "\n"
      << logs();
  const std::string error = source(app)->last_error->to_string();
  EXPECT_NE(error.find("Permission denied"), std::string::npos) << error;
  EXPECT_NE(error.find(app.string()), std::string::npos) << error;
  EXPECT_EQ(source(app)->last_error->code(), ErrorCode::kIo);
  EXPECT_EQ(n(), 1) << "the last good config keeps serving";

  calls->open_errno = 0;
  atomic_save(app, doc(3));
  EXPECT_TRUE(wait_n(3));
  EXPECT_TRUE(wait_until([&] { return source(app)->state == SourceState::kOk; }));
}

TEST_F(FaultTest, EioMidReadKeepsLastGoodAndIsRetriedWithoutAnotherChange) {
  auto calls = std::make_shared<FaultyCalls>();
  // Larger than one 64 KiB read, so the error comes after a partial read.
  const std::string pad(100'000, 'p');
  const fs::path app = dir.write("app.json", doc(1, pad));
  ASSERT_TRUE(add_file(app, calls->syscalls()).ok());
  ASSERT_EQ(n(), 1);

  calls->fail_times = 3;  // a transient fault: three failed reads, then it clears
  calls->read_errno = EIO;
  atomic_save(app, doc(2, pad));
  ASSERT_TRUE(wait_until([&] { return calls->failures.load() >= 1; }));
  ASSERT_TRUE(wait_until([&] {
    const auto s = source(app);
    return s->last_error.has_value() || s->state == SourceState::kOk;
  }));
  // Nothing else happens to the file: the retries alone must bring it in.
  EXPECT_TRUE(wait_n(2, 20s)) << "an I/O error was never retried";
  EXPECT_EQ(calls->failures.load(), 3);
  EXPECT_TRUE(wait_until([&] { return source(app)->state == SourceState::kOk; }));
  const std::string log = logs();
  EXPECT_NE(log.find("Input/output error"), std::string::npos) << log;
  EXPECT_NE(log.find(app.string()), std::string::npos) << log;
}

TEST_F(FaultTest, EioStateIsReportedUnavailableWhileItLasts) {
  auto calls = std::make_shared<FaultyCalls>();
  const std::string pad(100'000, 'p');
  const fs::path app = dir.write("app.json", doc(1, pad));
  ASSERT_TRUE(add_file(app, calls->syscalls()).ok());
  calls->read_errno = EIO;  // permanent
  atomic_save(app, doc(2, pad));
  ASSERT_TRUE(wait_until([&] { return source(app)->state == SourceState::kError; }));
  EXPECT_EQ(source(app)->last_error->code(), ErrorCode::kUnavailable);
  EXPECT_EQ(n(), 1);
  // Retried with backoff: more than one attempt, and still the old config.
  EXPECT_TRUE(wait_until([&] { return calls->failures.load() >= 2; }));
  EXPECT_EQ(n(), 1);
  calls->read_errno = 0;
  EXPECT_TRUE(wait_n(2, 20s));
}

// --- Code that throws ----------------------------------------------------------------------------

class ThrowingSource final : public Source {
 public:
  explicit ThrowingSource(std::atomic<int>& mode) : mode_(mode) {}
  const std::string& name() const noexcept override { return name_; }
  Debounce debounce() const noexcept override { return kFast; }
  Result<SourceLoad> load() override {
    if (mode_ == 1) {
      throw std::runtime_error("source exploded");
    }
    if (mode_ == 2) {
      throw 42;  // not even a std::exception
    }
    SourceLoad l;
    Value v = Value::object();
    v.set(KeyPath("n"), Value(mode_ == 0 ? 1 : 2));
    l.layers.push_back(Layer{name_, 10, std::move(v), "v" + std::to_string(mode_.load())});
    return l;
  }
  Result<WatchHandle> watch(std::function<void()> changed) override {
    std::lock_guard<std::mutex> lk(*mu_);
    *changed_ = std::move(changed);
    return WatchHandle([mu = mu_, changed = changed_] {
      std::lock_guard<std::mutex> l(*mu);
      *changed = nullptr;
    });
  }
  // Shared with the handle, which may outlive this source.
  std::shared_ptr<std::mutex> mu_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::function<void()>> changed_ = std::make_shared<std::function<void()>>();
  void poke() {
    std::lock_guard<std::mutex> lk(*mu_);
    if (*changed_) {
      (*changed_)();
    }
  }

 private:
  std::atomic<int>& mode_;
  std::string name_ = "throwing";
};

TEST_F(FaultTest, ASourceThatThrowsIsAnErrorAndTheLastGoodLayerStays) {
  std::atomic<int> mode{0};
  auto owned = std::make_unique<ThrowingSource>(mode);
  ThrowingSource* src = owned.get();
  ASSERT_TRUE(manager_->add_source(kName, std::move(owned)).ok());
  ASSERT_EQ(n(), 1);
  for (int m : {1, 2}) {
    mode = m;
    const std::uint64_t loads = manager_->status(kName).value().sources[0].loads;
    src->poke();
    ASSERT_TRUE(wait_until([&] {
      const SourceStatus s = manager_->status(kName).value().sources[0];
      return s.loads > loads && s.state == SourceState::kError;
    }));
    const SourceStatus s = manager_->status(kName).value().sources[0];
    EXPECT_EQ(s.last_error->code(), ErrorCode::kInternal);
    EXPECT_NE(s.last_error->message().find(m == 1 ? "source exploded" : "unknown exception"),
              std::string::npos)
        << s.last_error->to_string();
    EXPECT_EQ(n(), 1);
  }
  mode = 3;
  src->poke();
  EXPECT_TRUE(wait_n(2));
}

TEST_F(FaultTest, AValidatorThatThrowsRefusesTheChangeAndTheManagerKeepsWorking) {
  const fs::path app = dir.write("app.json", doc(1));
  ASSERT_TRUE(add_file(app).ok());
  const Status st = manager_->update(kName, one("s", "throw"));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("validator exploded"), std::string::npos) << st.to_string();
  EXPECT_EQ(manager_->get<Cfg>(kName).value()->s, "x");
  // The same through a file reload.
  atomic_save(app, doc(2, "throw"));
  ASSERT_TRUE(wait_until([&] { return source(app)->state == SourceState::kError; }));
  EXPECT_EQ(n(), 1);
  atomic_save(app, doc(3));
  EXPECT_TRUE(wait_n(3));
}

TEST_F(FaultTest, ThrowingLogAndEventCallbacksDoNotStopPublishing) {
  std::atomic<int> logged{0};
  std::atomic<int> events{0};
  ManagerOptions o;
  o.log = [&](LogLevel, std::string_view) {
    ++logged;
    throw std::runtime_error("log sink down");
  };
  o.on_source_event = [&](const SourceEvent&) {
    ++events;
    throw std::runtime_error("event sink down");
  };
  make_manager(std::move(o));
  const fs::path app = dir.write("app.json", doc(1));
  ASSERT_TRUE(add_file(app).ok());
  atomic_save(app, "{broken");
  ASSERT_TRUE(wait_until([&] { return events.load() >= 1 && logged.load() >= 1; }));
  EXPECT_EQ(n(), 1);
  atomic_save(app, doc(2));
  EXPECT_TRUE(wait_n(2)) << "a throwing log or event callback stopped the update thread";
  // The callbacks count into this function's locals: the manager goes first.
  // (Left to TearDown, its update thread could still log after they were
  // gone: seen under TSan with the test at -O0, as a smashed stack.)
  manager_.reset();
}

// --- A subscriber that blocks for seconds --------------------------------------------------------

TEST_F(FaultTest, ASubscriberBlockedForSecondsHoldsUpNeitherPublishingNorReaders) {
  const fs::path app = dir.write("app.json", doc(1));
  ASSERT_TRUE(add_file(app).ok());
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> calls{0};
  std::atomic<int> last_seen{0};
  Result<Subscription> slow =
      manager_->subscribe<Cfg>(kName, KeyPath(), [&](const Cfg&, const Cfg& now, const ChangeSet&) {
        ++calls;
        last_seen = now.n;
        std::unique_lock<std::mutex> lk(mu);
        // Blocks until the test releases it: seconds, as long as the test needs.
        cv.wait_for(lk, 30s, [&] { return release; });
      });
  ASSERT_TRUE(slow);

  atomic_save(app, doc(2));
  ASSERT_TRUE(wait_until([&] { return calls.load() == 1; })) << "the first call never came";
  // The subscriber is now blocked inside its call. For two seconds (and at
  // least four changes), every change is still published and read:
  const auto blocked_at = std::chrono::steady_clock::now();
  int i = 2;
  while (i < 6 || std::chrono::steady_clock::now() - blocked_at < 2s) {
    ++i;
    atomic_save(app, doc(i));
    ASSERT_TRUE(wait_n(i)) << "publishing stalled behind a blocked subscriber";
  }
  const int last = i;
  Result<Reader<Cfg>> reader = manager_->reader<Cfg>(kName);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->get().n, last);
  EXPECT_TRUE(manager_->update(kName, one("s", "y")).ok());
  EXPECT_EQ(manager_->status(kName).value().generation,
            manager_->snapshot(kName).value()->generation());
  EXPECT_EQ(calls.load(), 1) << "calls for one subscription never overlap";
  {
    std::lock_guard<std::mutex> lk(mu);
    release = true;
  }
  cv.notify_all();
  // Released: one merged call with the newest state, not one per publish.
  ASSERT_TRUE(wait_until([&] { return calls.load() == 2; }));
  EXPECT_EQ(last_seen.load(), last);
}

// --- Allocation failure --------------------------------------------------------------------------

// Fails the k-th allocation on the update thread during a reload, for k = 0,
// 1, 2, ... until a reload completes without reaching k: every allocation of
// the reload path fails once. Each time the old snapshot must keep serving
// (readers see the old or the new config, never anything else) and the change
// must still arrive (the manager retries what failed).
TEST_F(FaultTest, EveryAllocationOfAReloadCanFailAndTheOldSnapshotSurvives) {
  const fs::path app = dir.write("app.json", doc(0));
  ASSERT_TRUE(add_file(app).ok());
  ASSERT_NE(g_update_thread.load(), std::thread::id());

  std::atomic<int> bad_reads{0};
  // jthread: stopped and joined however the test body ends.
  std::jthread reader([&](const std::stop_token& stop) {
    Reader<Cfg> r = manager_->reader<Cfg>(kName).value();
    int last = 0;
    while (!stop.stop_requested()) {
      const Cfg& c = r.get();
      if (c.n < last || c.s != "x") {
        ++bad_reads;
      }
      last = c.n;
    }
  });

  int k = 0;
  for (; k < 20000; ++k) {
    const long injected_before = g_injected.load();
    g_fail_thread = g_update_thread.load();
    g_countdown = k;
    atomic_save(app, doc(k + 1));
    ASSERT_TRUE(wait_n(k + 1, 20s)) << "allocation " << k << " failed and the change never arrived";
    const bool reached = g_injected.load() > injected_before;
    g_countdown = -1;
    if (!reached) {
      break;  // the whole reload needs fewer than k allocations
    }
  }
  reader.request_stop();
  reader.join();
  EXPECT_EQ(bad_reads.load(), 0);
  EXPECT_GT(k, 20) << "the reload path allocated suspiciously little";
  std::printf("allocation failure injected at each of %d allocations of a reload\n", k);
  // Still a working manager.
  atomic_save(app, doc(100000));
  EXPECT_TRUE(wait_n(100000));
}

}  // namespace
}  // namespace liveconf::testing
