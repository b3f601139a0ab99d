// The contract every watch backend keeps (include/liveconf/watcher.hpp), run
// against each backend on a real temporary directory: "inotify" (the
// process's instance), "poll" (20 ms interval) and "hybrid" (inotify plus a
// slow poll).
//
// A backend may call back too often, never too rarely. So each positive
// check records what the file held when the callback ran and waits until a
// callback saw the new state: a callback that only came before the change
// cannot pass it.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/watcher.hpp"

#include "testutil/save_patterns.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::string_view kMissing = "<missing>";

/// Counts calls and records the file's content at each call.
class Recorder {
 public:
  explicit Recorder(fs::path path) : path_(std::move(path)) {}

  std::function<void()> callback() {
    return [this] { record(); };
  }
  void record() {
    std::string content = read_file(path_).value_or(std::string(kMissing));
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back(std::move(content));
    if (stopped_) {
      ++late_;
    }
  }
  [[nodiscard]] bool saw(std::string_view content, std::chrono::milliseconds timeout = 10s) {
    return wait_until(
        [&] {
          std::lock_guard<std::mutex> lock(mu_);
          for (std::size_t i = from_; i < seen_.size(); ++i) {
            if (seen_[i] == content) {
              return true;
            }
          }
          return false;
        },
        timeout);
  }
  /// Later saw() calls only look at calls from now on.
  void mark() {
    std::lock_guard<std::mutex> lock(mu_);
    from_ = seen_.size();
  }
  [[nodiscard]] std::size_t calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_.size();
  }
  void stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  [[nodiscard]] int late_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return late_;
  }
  [[nodiscard]] std::string history() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const std::string& s : seen_) {
      out += "[" + s + "] ";
    }
    return out;
  }

 private:
  fs::path path_;
  std::mutex mu_;
  std::vector<std::string> seen_;
  std::size_t from_ = 0;
  bool stopped_ = false;
  int late_ = 0;
};

class WatcherContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string& backend = GetParam();
    if (backend == "inotify") {
      Result<std::shared_ptr<Watcher>> w = inotify_watcher();
      ASSERT_TRUE(w) << w.error().to_string();
      watcher_ = *w;
    } else if (backend == "poll") {
      watcher_ = make_poll_watcher({.poll_interval = 20ms});
    } else {
      WatcherOptions o;
      o.poll_interval = 20ms;
      o.hybrid_poll_interval = 50ms;
      watcher_ = make_watcher(dir_.path(), WatchMode::kHybrid, o);
    }
    ASSERT_TRUE(watcher_);
    ASSERT_EQ(watcher_->name(), backend);
  }

  WatchHandle watch(const fs::path& path, Recorder& r) {
    Result<WatchHandle> h = watcher_->watch(path, r.callback());
    EXPECT_TRUE(h) << h.error().to_string();
    return h ? std::move(*h) : WatchHandle();
  }

  TempDir dir_;
  std::shared_ptr<Watcher> watcher_;
};

TEST_P(WatcherContract, InPlaceWriteSignals) {
  const fs::path f = dir_.write("f.yaml", "v0");
  Recorder r(f);
  WatchHandle h = watch(f, r);
  write_in_place(f, "v1");
  EXPECT_TRUE(r.saw("v1")) << r.history();
  write_in_place(f, "v2");  // same size
  EXPECT_TRUE(r.saw("v2")) << r.history();
  write_in_place(f, "a longer value");
  EXPECT_TRUE(r.saw("a longer value")) << r.history();
}

TEST_P(WatcherContract, WriteToTempAndRenameSignals) {
  const fs::path f = dir_.write("f.yaml", "v0");
  Recorder r(f);
  WatchHandle h = watch(f, r);
  atomic_save(f, "v1");
  EXPECT_TRUE(r.saw("v1")) << r.history();
  atomic_save(f, "v2");  // the watch follows the name, not the first inode
  EXPECT_TRUE(r.saw("v2")) << r.history();
  write_in_place(f, "v3");  // and the new inode
  EXPECT_TRUE(r.saw("v3")) << r.history();
}

TEST_P(WatcherContract, SymlinkSwapOfADirectorySignals) {
  // The Kubernetes layout: app.yaml -> ..data/app.yaml, ..data -> ..v1.
  const fs::path d = dir_.path();
  for (const char* v : {"..v1", "..v2", "..v3"}) {
    fs::create_directory(d / v);
  }
  write_file(d / "..v1" / "app.yaml", "one");
  write_file(d / "..v2" / "app.yaml", "two");
  write_file(d / "..v3" / "app.yaml", "three");
  fs::create_directory_symlink("..v1", d / "..data");
  fs::create_symlink("..data/app.yaml", d / "app.yaml");
  const fs::path f = d / "app.yaml";
  Recorder r(f);
  WatchHandle h = watch(f, r);

  auto swap_to = [&](const char* target) {
    fs::create_directory_symlink(target, d / "..data_tmp");
    fs::rename(d / "..data_tmp", d / "..data");
  };
  swap_to("..v2");
  fs::remove_all(d / "..v1");
  EXPECT_TRUE(r.saw("two")) << r.history();
  swap_to("..v3");
  fs::remove_all(d / "..v2");
  EXPECT_TRUE(r.saw("three")) << r.history();
}

TEST_P(WatcherContract, DeleteAndRecreateSignal) {
  const fs::path f = dir_.write("f.yaml", "v0");
  Recorder r(f);
  WatchHandle h = watch(f, r);
  fs::remove(f);
  EXPECT_TRUE(r.saw(kMissing)) << r.history();
  write_file(f, "again");
  EXPECT_TRUE(r.saw("again")) << r.history();
  r.mark();
  fs::remove(f);
  EXPECT_TRUE(r.saw(kMissing)) << r.history();
  atomic_save(f, "and again");
  EXPECT_TRUE(r.saw("and again")) << r.history();
}

TEST_P(WatcherContract, RemovingTheParentDirectoryDoesNotCrashAndRecreationSignals) {
  fs::create_directory(dir_ / "sub");
  const fs::path f = dir_ / "sub" / "f.yaml";
  write_file(f, "v0");
  Recorder r(f);
  WatchHandle h = watch(f, r);
  fs::remove_all(dir_ / "sub");
  EXPECT_TRUE(r.saw(kMissing)) << r.history();
  fs::create_directory(dir_ / "sub");
  write_file(f, "back");
  EXPECT_TRUE(r.saw("back")) << r.history();
  write_in_place(f, "still watched");
  EXPECT_TRUE(r.saw("still watched")) << r.history();
  // Twice, with the recreated directory.
  fs::remove_all(dir_ / "sub");
  fs::create_directories(dir_ / "sub");
  atomic_save(f, "second time");
  EXPECT_TRUE(r.saw("second time")) << r.history();
}

TEST_P(WatcherContract, APathWhoseDirectoriesDoNotExistYetSignalsWhenCreated) {
  const fs::path f = dir_ / "a" / "b" / "f.yaml";
  Recorder r(f);
  WatchHandle h = watch(f, r);
  fs::create_directory(dir_ / "a");
  fs::create_directory(dir_ / "a" / "b");
  write_file(f, "appeared");
  EXPECT_TRUE(r.saw("appeared")) << r.history();
}

TEST_P(WatcherContract, TwoPathsInOneDirectoryBothSignal) {
  const fs::path a = dir_.write("a.yaml", "a0");
  const fs::path b = dir_.write("b.yaml", "b0");
  Recorder ra(a);
  Recorder rb(b);
  WatchHandle ha = watch(a, ra);
  WatchHandle hb = watch(b, rb);
  write_in_place(a, "a1");
  atomic_save(b, "b1");
  EXPECT_TRUE(ra.saw("a1")) << ra.history();
  EXPECT_TRUE(rb.saw("b1")) << rb.history();
  hb.cancel();
  write_in_place(a, "a2");
  EXPECT_TRUE(ra.saw("a2")) << ra.history();
}

TEST_P(WatcherContract, DestroyingTheHandleStopsCallbacks) {
  const fs::path f = dir_.write("f.yaml", "v0");
  const fs::path s = dir_.write("sentinel.yaml", "s0");
  Recorder r(f);
  Recorder sentinel(s);
  WatchHandle hs = watch(s, sentinel);
  {
    WatchHandle h = watch(f, r);
    write_in_place(f, "v1");
    ASSERT_TRUE(r.saw("v1")) << r.history();
  }  // once the destructor returned, no call runs and none will start
  r.stop();
  const std::size_t calls = r.calls();
  write_in_place(f, "v2");
  atomic_save(f, "v3");
  fs::remove(f);
  write_file(f, "v4");
  // Two sentinel round trips: a poller has gone over every path at least once since.
  for (const char* v : {"s1", "s2"}) {
    atomic_save(s, v);
    ASSERT_TRUE(sentinel.saw(v)) << sentinel.history();
  }
  EXPECT_EQ(r.calls(), calls) << r.history();
  EXPECT_EQ(r.late_calls(), 0);
}

TEST_P(WatcherContract, CancelFromInsideTheCallbackReturnsAtOnce) {
  const fs::path f = dir_.write("f.yaml", "v0");
  const fs::path s = dir_.write("sentinel.yaml", "s0");
  Recorder sentinel(s);
  WatchHandle hs = watch(s, sentinel);
  std::atomic<int> calls{0};
  std::atomic<bool> returned{false};
  WatchHandle h;
  std::atomic<WatchHandle*> self{nullptr};  // published once `h` holds the handle
  h = watcher_
          ->watch(f,
                  [&] {
                    ++calls;
                    if (WatchHandle* handle = self.load()) {
                      handle->cancel();  // from inside the callback: must return at once
                      returned = true;
                    }
                  })
          .value();
  self = &h;
  write_in_place(f, "v1");
  ASSERT_TRUE(wait_until([&] { return returned.load(); }));
  const int after = calls.load();
  EXPECT_GE(after, 1);
  write_in_place(f, "v2");
  for (const char* v : {"s1", "s2"}) {
    atomic_save(s, v);
    ASSERT_TRUE(sentinel.saw(v)) << sentinel.history();
  }
  EXPECT_EQ(calls.load(), after);
  EXPECT_FALSE(h.active());
}

TEST_P(WatcherContract, CancelInsideTheCallbackOfAHandleHoldingTheLastReference) {
  // A handle may be the last owner of its watcher (the watcher is created,
  // watched through and dropped). Cancelling it from inside its own callback
  // is allowed; the watcher then goes away on its own thread. Run in a child
  // process, so that a crash (joining the thread from itself: std::terminate)
  // fails this test instead of the whole suite.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const fs::path f = dir_.write("f.yaml", "v0");
  auto scenario = [&] {
    std::atomic<bool> done{false};
    WatchHandle h;
    std::atomic<WatchHandle*> self{nullptr};
    h = watcher_
            ->watch(f,
                    [&] {
                      if (WatchHandle* handle = self.load()) {
                        handle->cancel();
                        done = true;
                      }
                    })
            .value();
    self = &h;
    watcher_.reset();  // the handle now holds the last reference
    write_in_place(f, "v1");
    const bool ok = wait_until([&] { return done.load(); }, 10s);
    std::error_code ec;
    fs::remove_all(dir_.path(), ec);  // _Exit skips the TempDir's destructor
    std::_Exit(ok ? 0 : 2);
  };
  EXPECT_EXIT(scenario(), ::testing::ExitedWithCode(0), "");
}

TEST_P(WatcherContract, DestroyingAHandleWhileCallbacksRunIsSafe) {
  // Callbacks keep coming (a file rewritten in a loop) while handles are
  // created and destroyed. Every recorder outlives the test's loop and is
  // marked stopped the moment its handle's destructor returns: a call after
  // that is counted (not only caught by a crash or a sanitizer).
  const fs::path f = dir_.write("f.yaml", "v0");
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    int i = 0;
    while (!stop) {
      write_in_place(f, "v" + std::to_string(++i % 10));
      std::this_thread::sleep_for(1ms);  // the writer's pace
    }
  });
  std::vector<std::unique_ptr<Recorder>> recorders;
  int busy_rounds = 0;
  for (int round = 0; round < 20; ++round) {
    recorders.push_back(std::make_unique<Recorder>(f));
    Recorder& r = *recorders.back();
    {
      WatchHandle h = watch(f, r);
      if (wait_until([&] { return r.calls() > 0; }, 2s)) {
        ++busy_rounds;  // destroyed while callbacks were coming
      }
    }
    r.stop();
  }
  stop = true;
  writer.join();
  // Give any stray late call the time to arrive, then count.
  write_in_place(f, "after");
  const fs::path sentinel = dir_.write("sentinel.yaml", "s");
  Recorder probe(sentinel);
  WatchHandle ph = watch(sentinel, probe);
  write_in_place(sentinel, "s2");
  EXPECT_TRUE(probe.saw("s2"));
  EXPECT_GE(busy_rounds, 15) << "the handles were not destroyed while callbacks ran";
  for (std::size_t i = 0; i < recorders.size(); ++i) {
    EXPECT_EQ(recorders[i]->late_calls(), 0) << "round " << i << ": a call after its handle died";
  }
}

/// Records what watch_entries() calls report.
class EntriesRecorder {
 public:
  std::function<void(const ChangedEntries&)> callback() {
    return [this](const ChangedEntries& c) {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(c);
    };
  }
  /// Waits for a call that covers `name`: names it, or says `all`. Returns
  /// that call (nullopt on timeout); later waits look at later calls only.
  std::optional<ChangedEntries> covering(const std::string& name) {
    std::optional<ChangedEntries> found;
    (void)wait_until([&] {
      std::lock_guard<std::mutex> lock(mu_);
      for (; from_ < seen_.size(); ++from_) {
        const ChangedEntries& c = seen_[from_];
        if (c.all || std::find(c.names.begin(), c.names.end(), name) != c.names.end()) {
          found = c;
          ++from_;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  std::mutex mu_;
  std::vector<ChangedEntries> seen_;
  std::size_t from_ = 0;
};

// watch_entries() on a directory: every backend covers each changed entry
// (by name, or with `all`); inotify names plain files and says `all` only
// where it cannot name the entry (a symlinked file's target edited, the
// watched path a file).
TEST_P(WatcherContract, WatchEntriesCoversEveryChangedEntryAndInotifyNamesThem) {
  const bool names = GetParam() == "inotify";
  const fs::path confd = dir_ / "conf.d";
  fs::create_directory(confd);
  TempDir elsewhere;
  write_file(confd / "10-a.json", "{}");
  write_file(elsewhere / "real.json", "{}");
  EntriesRecorder r;
  Result<WatchHandle> h = watcher_->watch_entries(confd, r.callback());
  ASSERT_TRUE(h) << h.error().to_string();

  write_in_place(confd / "10-a.json", "{\"a\": 1}");
  std::optional<ChangedEntries> c = r.covering("10-a.json");
  ASSERT_TRUE(c) << "an in-place write was not covered";
  if (names) {
    EXPECT_FALSE(c->all);
    EXPECT_EQ(c->names, std::vector<std::string>{"10-a.json"});
  }
  write_file(elsewhere / "moved.json", "{}");
  fs::rename(elsewhere / "moved.json", confd / "20-b.json");
  c = r.covering("20-b.json");
  ASSERT_TRUE(c) << "a file renamed in was not covered";
  if (names) {
    EXPECT_FALSE(c->all);
  }
  fs::remove(confd / "10-a.json");
  c = r.covering("10-a.json");
  ASSERT_TRUE(c) << "a deletion was not covered";
  if (names) {
    EXPECT_FALSE(c->all);
  }
  fs::create_symlink(elsewhere / "real.json", confd / "30-link.json");
  ASSERT_TRUE(r.covering("30-link.json")) << "a new symlink was not covered";
  write_in_place(elsewhere / "real.json", "{\"linked\": 1}");
  c = r.covering("30-link.json");
  ASSERT_TRUE(c) << "an edit of a symlinked file's target was not covered";
  if (names) {
    EXPECT_TRUE(c->all) << "the target's event cannot name the conf.d entry";
  }

  // A watched file: `all`, the name of its directory's entry is no news.
  EntriesRecorder f;
  Result<WatchHandle> fh = watcher_->watch_entries(confd / "20-b.json", f.callback());
  ASSERT_TRUE(fh) << fh.error().to_string();
  write_in_place(confd / "20-b.json", "{\"b\": 2}");
  c = f.covering("20-b.json");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->all);
}

// "/etc/conf.d/" is the directory "/etc/conf.d": its files count.
TEST_P(WatcherContract, ADirectoryNamedWithATrailingSlashSignals) {
  const fs::path confd = dir_ / "conf.d";
  fs::create_directory(confd);
  std::atomic<int> calls{0};
  Result<WatchHandle> h =
      watcher_->watch(fs::path(confd.string() + "/"), [&] { calls.fetch_add(1); });
  ASSERT_TRUE(h) << h.error().to_string();
  write_in_place(confd / "10-a.json", "{}");
  EXPECT_TRUE(wait_until([&] { return calls.load() > 0; }))
      << "a file written in a directory watched as \"conf.d/\" gave no signal";
}

INSTANTIATE_TEST_SUITE_P(Backends, WatcherContract, ::testing::Values("inotify", "poll", "hybrid"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

}  // namespace
}  // namespace liveconf::testing
