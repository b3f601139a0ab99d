// BEHAVIOUR.md section 4 (items 21-26): queue overflow (real and via the
// seam), one inotify instance and shared watches, fault injection of
// EMFILE/ENOSPC, the polling backend, filesystem-type selection and the
// application's own writes in a watched directory.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fcntl.h>
#include <linux/magic.h>
#include <mutex>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "integration/file_watch_fixture.hpp"
#include "watch/filesystem_type.hpp"
#include "watch/inotify/inotify_watcher.hpp"
#include "watch/watcher_factory.hpp"

namespace liveconf::testing {
namespace {

/// A shared writable mapping of a file, unmapped on destruction.
class Mapping {
 public:
  Mapping(void* addr, std::size_t size) : addr_(addr), size_(size) {}
  ~Mapping() { ::munmap(addr_, size_); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  [[nodiscard]] char* data() const { return static_cast<char*>(addr_); }

 private:
  void* addr_;
  std::size_t size_;
};

/// Replaces `from` with `to` in the file through a shared mapping: the page
/// cache changes, but inotify never reports a write made through a mapping.
/// Same length only. The mapping holds the file open, so the kernel reports
/// IN_CLOSE_WRITE only when the mapping goes (at munmap): keep the returned
/// Mapping alive for as long as the change must stay unreported.
/// `before_write` runs once the file is mapped and its descriptor closed.
std::unique_ptr<Mapping> silent_replace(const fs::path& path, std::string_view from,
                                        std::string_view to,
                                        const std::function<void()>& before_write) {
  EXPECT_EQ(from.size(), to.size());
  const std::string content = read_file(path).value();
  const std::size_t at = content.find(from);
  EXPECT_NE(at, std::string::npos);
  if (at == std::string::npos || from.size() != to.size()) {
    return nullptr;
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  void* addr = ::mmap(nullptr, content.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  EXPECT_NE(addr, MAP_FAILED) << std::strerror(errno);
  if (addr == MAP_FAILED) {
    return nullptr;
  }
  auto mapping = std::make_unique<Mapping>(addr, content.size());
  before_write();
  std::memcpy(mapping->data() + at, to.data(), to.size());
  ::msync(addr, content.size(), MS_SYNC);
  EXPECT_EQ(read_file(path).value().find(to), at);
  return mapping;
}

std::string to_lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

struct Warnings {
  std::mutex mu;
  std::vector<std::string> lines;
  std::function<void(std::string_view)> sink() {
    return [this](std::string_view m) {
      std::lock_guard<std::mutex> lock(mu);
      lines.emplace_back(m);
    };
  }
  std::string all() {
    std::lock_guard<std::mutex> lock(mu);
    std::string out;
    for (const std::string& l : lines) {
      out += l + "\n";
    }
    return out;
  }
};

// --- 21. IN_Q_OVERFLOW
// ----------------------------------------------------------------------------

TEST_F(FileWatchTest, B21_OverflowSeamTriggersARescanThatPicksUpAChangeInotifyNeverReported) {
  const fs::path app = dir.write("app.yaml", "value: aaaa\n");
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kInotify).ok());
  add_sentinel(dir.path(), WatchMode::kInotify);
  std::shared_ptr<detail::InotifyWatcher> watcher = shared_inotify();
  ASSERT_TRUE(watcher);

  std::unique_ptr<Mapping> mapping =
      silent_replace(app, "aaaa", "bbbb", [&] { ASSERT_TRUE(flush_sentinel()); });
  ASSERT_TRUE(mapping);
  ASSERT_TRUE(flush_sentinel());
  ASSERT_EQ(value("value"), "aaaa") << "the mmap write was seen without an overflow";

  watcher->inject_overflow_for_test();
  ASSERT_TRUE(wait_value("value", "bbbb")) << "the overflow rescan did not reload the file";
  EXPECT_TRUE(wait_state(app, SourceState::kOk));
  // Watching goes on after the rescan.
  atomic_save(app, "value: cccc\n");
  ASSERT_TRUE(wait_value("value", "cccc"));
}

TEST(InotifyOverflow, B21_OverflowSeamOnAPrivateInstanceCallsEveryCallback) {
  TempDir dir;
  fs::create_directory(dir / "one");
  fs::create_directory(dir / "two");
  Result<std::shared_ptr<detail::InotifyWatcher>> w = detail::InotifyWatcher::create({});
  ASSERT_TRUE(w) << w.error().to_string();
  std::atomic<int> a{0};
  std::atomic<int> b{0};
  WatchHandle ha = (*w)->watch(dir / "one" / "a.yaml", [&] { ++a; }).value();
  WatchHandle hb = (*w)->watch(dir / "two" / "missing" / "b.yaml", [&] { ++b; }).value();
  (*w)->inject_overflow_for_test();
  EXPECT_TRUE(wait_until([&] { return a.load() >= 1 && b.load() >= 1; }));
  // And the watches still work afterwards.
  const int before = a.load();
  write_file(dir / "one" / "a.yaml", "x");
  EXPECT_TRUE(wait_until([&] { return a.load() > before; }));
}

// The kernel drops the watch of a deleted directory; if the directory comes
// back with the same inode number while the queue overflowed, IN_IGNORED is
// among the lost events and the descriptor we keep watches nothing. Simulated
// exactly: the first add_watch for the directory puts the watch on a decoy, so
// our descriptor never reports the directory (as a dropped one would).
namespace overflow_decoy {
std::string target;        // NOLINT: seam state for plain function pointers
std::string decoy;         // NOLINT
std::atomic<int> lies{0};  // NOLINT
int add_watch(int fd, const char* path, std::uint32_t mask) {
  if (path == target && lies.fetch_sub(1) > 0) {
    return ::inotify_add_watch(fd, decoy.c_str(), mask);
  }
  return ::inotify_add_watch(fd, path, mask);
}
}  // namespace overflow_decoy

TEST(InotifyOverflow, B21_OverflowReArmsADirectoryWhoseWatchTheKernelDroppedWithTheSameInode) {
  TempDir dir;
  fs::create_directory(dir / "conf");
  fs::create_directory(dir / "decoy");
  overflow_decoy::target = (dir / "conf").string();
  overflow_decoy::decoy = (dir / "decoy").string();
  overflow_decoy::lies = 1;
  detail::InotifySyscalls sys;
  sys.add_watch = overflow_decoy::add_watch;
  Result<std::shared_ptr<detail::InotifyWatcher>> w =
      detail::make_inotify_watcher_for_test({}, sys);
  ASSERT_TRUE(w) << w.error().to_string();
  std::atomic<int> calls{0};
  WatchHandle h = (*w)->watch(dir / "conf" / "a.yaml", [&] { ++calls; }).value();

  (*w)->inject_overflow_for_test();
  ASSERT_TRUE(wait_until([&] { return calls.load() >= 1; }));
  const int before = calls.load();
  write_file(dir / "conf" / "a.yaml", "x: 1\n");
  EXPECT_TRUE(wait_until([&] { return calls.load() > before; }))
      << "after an overflow the directory must be watched again, not trusted by inode";
}

TEST(InotifyOverflow, B21_OverflowClearsWritingMarksSoBusyDoesNotHoldTheRescan) {
  TempDir dir;
  Result<std::shared_ptr<detail::InotifyWatcher>> w = detail::InotifyWatcher::create({});
  ASSERT_TRUE(w) << w.error().to_string();
  const fs::path file = dir / "a.yaml";
  std::atomic<int> calls{0};
  WatchHandle h = (*w)->watch(file, [&] { ++calls; }).value();
  // A writer creates the file and keeps it open: busy until IN_CLOSE_WRITE.
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(wait_until([&] { return (*w)->busy(file); }));
  // The close's event is lost in an overflow: the mark must not outlive it.
  (*w)->inject_overflow_for_test();
  EXPECT_FALSE((*w)->busy(file)) << "a writing mark survived the overflow rescan";
  ::close(fd);
}

TEST_F(FileWatchTest, B21_RealQueueOverflowTriggersARescanThatPicksUpAChangeMadeDuringIt) {
  // Callbacks run on the backend's reading thread. One that blocks stops the
  // reading, so the kernel queue (max_queued_events, 16384 by default) fills
  // up with events in the config's directory; the config change made then is
  // dropped by the kernel, which queues IN_Q_OVERFLOW instead.
  const std::optional<std::string> max_events = read_file("/proc/sys/fs/inotify/max_queued_events");
  const long max_queued = max_events ? std::stol(*max_events) : 16384;
  if (max_queued > 100000) {
    GTEST_SKIP() << "max_queued_events is " << max_queued << ": too large to overflow quickly";
  }
  const fs::path app = dir.write("app.yaml", "value: before\n");
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kInotify).ok());
  std::shared_ptr<detail::InotifyWatcher> watcher = shared_inotify();
  ASSERT_TRUE(watcher);

  TempDir block_dir;
  TempDir staging;
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  std::atomic<int> blocker_calls{0};
  WatchHandle blocker =
      watcher
          ->watch(block_dir / "block",
                  [&] {
                    if (++blocker_calls == 1) {
                      std::unique_lock<std::mutex> lock(mu);
                      cv.wait_for(lock, std::chrono::seconds(60), [&] { return released; });
                    }
                  })
          .value();
  auto release = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      released = true;
    }
    cv.notify_all();
  };
  struct Guard {
    std::function<void()> fn;
    ~Guard() { fn(); }
  } guard{release};  // destroyed before `blocker`: never cancel a blocked callback

  // One single event (IN_MOVED_TO from another directory) blocks the reader.
  write_file(staging / "block", "x");
  fs::rename(staging / "block", block_dir / "block");
  ASSERT_TRUE(wait_until([&] { return blocker_calls.load() >= 1; }));

  // More events than the queue holds: IN_ATTRIB on two other files in the
  // config's directory, alternately (the kernel merges an event only with an
  // identical one at the tail of the queue).
  const fs::path spam[2] = {dir.write("spam-a.log", ""), dir.write("spam-b.log", "")};
  const long events = max_queued + 1000;
  for (long i = 0; i < events; ++i) {
    const fs::path& p = spam[i % 2];
    ASSERT_EQ(::chmod(p.c_str(), (i / 2) % 2 == 0 ? 0600 : 0644), 0) << std::strerror(errno);
  }
  atomic_save(app, "value: during\n");  // its events are dropped: the queue is full
  release();

  ASSERT_TRUE(wait_value("value", "during", std::chrono::seconds(30)))
      << "the change made during the overflow was never picked up";
  // The rescan calls every callback: the blocker is called again although its
  // file never changed again, which shows the overflow path ran.
  EXPECT_TRUE(wait_until([&] { return blocker_calls.load() >= 2; }))
      << "no IN_Q_OVERFLOW rescan observed (the reload came another way)";
  atomic_save(app, "value: after\n");
  ASSERT_TRUE(wait_value("value", "after"));
}

// --- 22. One instance, shared watches
// -------------------------------------------------------------

TEST_F(FileWatchTest, B22_OneInotifyInstancePerProcess) {
  for (const char* d : {"a", "b", "c"}) {
    fs::create_directory(dir / d);
  }
  ConfigManager second;
  ASSERT_TRUE(second.register_untyped("other").ok());
  ASSERT_TRUE(add_file(dir.write("a/one.yaml", "one: 1\n")).ok());
  ASSERT_TRUE(
      add_file(dir.write("b/two.yaml", "two: 2\n"), kFastDebounce, WatchMode::kInotify).ok());
  ASSERT_TRUE(
      add_file(dir.write("c/three.yaml", "three: 3\n"), kFastDebounce, WatchMode::kHybrid).ok());
  for (const char* p : {"a/four.yaml", "c/five.yaml"}) {
    ASSERT_TRUE(
        second.add_source("other", make_file_source(options(dir.write(p, "x: 1\n"))).value()).ok());
  }
  std::shared_ptr<detail::InotifyWatcher> watcher = shared_inotify();
  EXPECT_EQ(count_inotify_fds(), 1u);
  // All of them work.
  atomic_save(dir / "b" / "two.yaml", "two: 22\n");
  ASSERT_TRUE(wait_value("two", "22"));
  atomic_save(dir / "c" / "five.yaml", "x: 5\n");
  ASSERT_TRUE(wait_until([&] {
    return scalar_text((*second.snapshot("other"))->find("x")) == std::optional<std::string>("5");
  }));
}

TEST_F(FileWatchTest, B22_SourcesInOneDirectoryShareOneWatch) {
  std::shared_ptr<detail::InotifyWatcher> watcher = shared_inotify();
  ASSERT_TRUE(watcher);
  fs::create_directory(dir / "conf");
  const std::size_t w0 = watcher->watch_count_for_test();
  ASSERT_TRUE(add_file(dir.write("conf/a.yaml", "a: 1\n")).ok());
  const std::size_t w1 = watcher->watch_count_for_test();
  EXPECT_GT(w1, w0);
  ASSERT_TRUE(add_file(dir.write("conf/b.yaml", "b: 1\n")).ok());
  ASSERT_TRUE(add_file(dir.write("conf/c.yaml", "c: 1\n")).ok());
  ConfigManager second;
  ASSERT_TRUE(second.register_untyped("other").ok());
  ASSERT_TRUE(
      second.add_source("other", make_file_source(options(dir / "conf" / "a.yaml")).value()).ok());
  EXPECT_EQ(watcher->watch_count_for_test(), w1)
      << "sources in one directory (and a second manager) must share its watch";

  // Each still reloads on its own.
  atomic_save(dir / "conf" / "b.yaml", "b: 2\n");
  write_in_place(dir / "conf" / "c.yaml", "c: 2\n");
  ASSERT_TRUE(wait_value("b", "2"));
  ASSERT_TRUE(wait_value("c", "2"));
  atomic_save(dir / "conf" / "a.yaml", "a: 2\n");
  ASSERT_TRUE(wait_value("a", "2"));
  ASSERT_TRUE(wait_until([&] {
    return scalar_text((*second.snapshot("other"))->find("a")) == std::optional<std::string>("2");
  }));
}

TEST_F(FileWatchTest, B22_TwoInterestsInOneDirectoryDoNotClobberEachOther) {
  std::shared_ptr<detail::InotifyWatcher> watcher = shared_inotify();
  ASSERT_TRUE(watcher);
  fs::create_directory(dir / "d");
  fs::create_directory(dir / "targets");
  const fs::path a = dir.write("d/a.yaml", "a");
  write_file(dir / "targets" / "t.yaml", "t1");
  const fs::path link = dir / "d" / "link.yaml";  // a symlink interest in the same directory
  fs::create_symlink(dir / "targets" / "t.yaml", link);
  std::atomic<int> a_calls{0};
  std::atomic<int> link_calls{0};
  WatchHandle ha = watcher->watch(a, [&] { ++a_calls; }).value();
  write_in_place(a, "a1");
  ASSERT_TRUE(wait_until([&] { return a_calls.load() >= 1; }));

  {
    WatchHandle hl = watcher->watch(link, [&] { ++link_calls; }).value();
    // Both kinds of change keep reaching both interests.
    int seen = a_calls.load();
    write_in_place(a, "a2");
    ASSERT_TRUE(wait_until([&] { return a_calls.load() > seen; }))
        << "in-place write after 2nd watch";
    seen = a_calls.load();
    atomic_save(a, "a3");
    ASSERT_TRUE(wait_until([&] { return a_calls.load() > seen; })) << "rename after 2nd watch";
    int lseen = link_calls.load();
    write_in_place(dir / "targets" / "t.yaml", "t2");
    ASSERT_TRUE(wait_until([&] { return link_calls.load() > lseen; })) << "symlink target edit";
    lseen = link_calls.load();
    fs::create_symlink(dir / "targets" / "t.yaml", dir / "d" / "link.new");
    fs::rename(dir / "d" / "link.new", link);
    ASSERT_TRUE(wait_until([&] { return link_calls.load() > lseen; })) << "symlink replaced";
  }
  // Dropping the second interest leaves the first intact.
  int seen = a_calls.load();
  write_in_place(a, "a4");
  ASSERT_TRUE(wait_until([&] { return a_calls.load() > seen; }));
  seen = a_calls.load();
  fs::remove(a);
  ASSERT_TRUE(wait_until([&] { return a_calls.load() > seen; })) << "delete";

  // And two managers with sources in one directory both reload.
  ConfigManager second;
  ASSERT_TRUE(second.register_untyped("other").ok());
  const fs::path mine = dir.write("d/mine.yaml", "mine: 1\n");
  const fs::path theirs = dir.write("d/theirs.yaml", "theirs: 1\n");
  ASSERT_TRUE(add_file(mine).ok());
  ASSERT_TRUE(second.add_source("other", make_file_source(options(theirs)).value()).ok());
  atomic_save(theirs, "theirs: 2\n");
  write_in_place(mine, "mine: 2\n");
  ASSERT_TRUE(wait_value("mine", "2"));
  ASSERT_TRUE(wait_until([&] {
    return scalar_text((*second.snapshot("other"))->find("theirs")) ==
           std::optional<std::string>("2");
  }));
}

// --- 23. Fault injection: EMFILE, ENOSPC
// ------------------------------------------------------------

int init1_emfile(int /*flags*/) {
  errno = EMFILE;
  return -1;
}

int add_watch_enospc(int /*fd*/, const char* /*path*/, std::uint32_t /*mask*/) {
  errno = ENOSPC;
  return -1;
}

TEST_F(FileWatchTest, B23_InotifyInitEmfileFallsBackToPollingWithAWarning) {
  auto syscalls = std::make_shared<detail::InotifySyscalls>();
  syscalls->init1 = &init1_emfile;

  // The backend reports it...
  Result<std::shared_ptr<detail::InotifyWatcher>> direct =
      detail::make_inotify_watcher_for_test({}, *syscalls);
  ASSERT_FALSE(direct);
  EXPECT_EQ(direct.error().code(), ErrorCode::kIo);
  const std::string message = direct.error().to_string();
  EXPECT_TRUE(message.find("EMFILE") != std::string::npos ||
              message.find(std::strerror(EMFILE)) != std::string::npos)
      << message;

  // ...make_watcher falls back to polling and warns...
  for (WatchMode mode : {WatchMode::kAuto, WatchMode::kInotify}) {
    Warnings warnings;
    WatcherOptions wo;
    wo.warn = warnings.sink();
    wo.poll_interval = 20ms;
    std::shared_ptr<Watcher> w =
        detail::make_watcher_with_syscalls(dir.path(), mode, wo, syscalls.get());
    ASSERT_TRUE(w);
    EXPECT_EQ(w->name(), "poll") << watch_mode_name(mode);
    EXPECT_NE(to_lower(warnings.all()).find("poll"), std::string::npos)
        << watch_mode_name(mode) << " warnings: " << warnings.all();
  }

  // ...and a file source still reloads.
  Warnings warnings;
  const fs::path app = dir.write("app.yaml", "value: old\n");
  FileSourceOptions o = options(app);
  o.watcher.warn = warnings.sink();
  ASSERT_TRUE(add_file(o, {.inotify_syscalls = syscalls}).ok());
  write_in_place(app, "value: new\n");
  ASSERT_TRUE(wait_value("value", "new"));
  atomic_save(app, "value: newer\n");
  ASSERT_TRUE(wait_value("value", "newer"));
  EXPECT_FALSE(warnings.all().empty()) << "the fallback must be reported";
}

TEST_F(FileWatchTest, B23_FallbackIsReportedEvenWithoutAWarnCallback) {
  // A source configured with defaults (no WatcherOptions::warn): the fallback
  // to polling must still reach someone, the manager's log or stderr.
  auto syscalls = std::make_shared<detail::InotifySyscalls>();
  syscalls->init1 = &init1_emfile;
  const fs::path app = dir.write("app.yaml", "value: old\n");
  FileSourceOptions o = options(app);
  ::testing::internal::CaptureStderr();
  const Status st = add_file(o, {.inotify_syscalls = syscalls});
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(st.ok()) << st.to_string();
  const std::string reported = to_lower(logs_text() + err);
  EXPECT_NE(reported.find("poll"), std::string::npos)
      << "the fallback to polling was silent; log: " << logs_text() << " stderr: " << err;
}

TEST_F(FileWatchTest, B23_AddWatchEnospcFallsBackToPollingForThatPathWithAWarning) {
  auto syscalls = std::make_shared<detail::InotifySyscalls>();
  syscalls->add_watch = &add_watch_enospc;

  // The backend reports it for the path...
  Result<std::shared_ptr<detail::InotifyWatcher>> direct =
      detail::make_inotify_watcher_for_test({}, *syscalls);
  ASSERT_TRUE(direct) << direct.error().to_string();
  Result<WatchHandle> h = (*direct)->watch(dir / "x.yaml", [] {});
  ASSERT_FALSE(h) << "a watch was reported although inotify_add_watch failed";
  EXPECT_EQ(h.error().code(), ErrorCode::kIo);
  const std::string message = h.error().to_string();
  EXPECT_TRUE(message.find("ENOSPC") != std::string::npos ||
              message.find("max_user_watches") != std::string::npos ||
              message.find(std::strerror(ENOSPC)) != std::string::npos)
      << message;

  // ...and a file source falls back to polling that path, with a warning.
  Warnings warnings;
  const fs::path app = dir.write("app.yaml", "value: old\n");
  FileSourceOptions o = options(app, kFastDebounce, WatchMode::kInotify);
  o.watcher.warn = warnings.sink();
  ASSERT_TRUE(add_file(o, {.inotify_syscalls = syscalls}).ok());
  write_in_place(app, "value: new\n");
  ASSERT_TRUE(wait_value("value", "new"));
  atomic_save(app, "value: newer\n");
  ASSERT_TRUE(wait_value("value", "newer"));
  fs::remove(app);
  ASSERT_TRUE(wait_state(app, SourceState::kMissing));
  write_file(app, "value: back\n");
  ASSERT_TRUE(wait_value("value", "back"));
  EXPECT_NE(to_lower(warnings.all()).find("poll"), std::string::npos)
      << "warnings: " << warnings.all();
}

// --- 24. Polling backend
// --------------------------------------------------------------------------

TEST_F(FileWatchTest, B24_PollingDetectsContentChange) {
  const fs::path app = dir.write("app.yaml", "value: old\n");
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kPoll).ok());
  write_in_place(app, "value: new\n");
  ASSERT_TRUE(wait_value("value", "new"));
  atomic_save(app, "value: newer\n");
  ASSERT_TRUE(wait_value("value", "newer"));
}

TEST_F(FileWatchTest, B24_PollingDetectsASameSizeSameTimestampRewrite) {
  const fs::path app = dir.write("app.yaml", "value: aaaa\n");
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kPoll).ok());
  struct stat st {};
  ASSERT_EQ(::stat(app.c_str(), &st), 0);

  // Same inode, same size, and the old timestamps put back: only the bytes differ.
  // (ctime cannot be put back; the poller is expected to hash the content.)
  write_in_place(app, "value: bbbb\n");
  const timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, app.c_str(), times, 0), 0);
  struct stat after {};
  ASSERT_EQ(::stat(app.c_str(), &after), 0);
  ASSERT_EQ(after.st_size, st.st_size);
  ASSERT_EQ(after.st_ino, st.st_ino);
  ASSERT_EQ(after.st_mtim.tv_sec, st.st_mtim.tv_sec);
  ASSERT_EQ(after.st_mtim.tv_nsec, st.st_mtim.tv_nsec);
  ASSERT_TRUE(wait_value("value", "bbbb"));
}

TEST_F(FileWatchTest, B24_PollingWatcherDetectsASameSizeSameTimestampRewrite) {
  const fs::path f = dir.write("f.yaml", "aaaa");
  std::shared_ptr<Watcher> poll = make_poll_watcher({.poll_interval = 20ms});
  std::mutex mu;
  std::vector<std::string> seen;
  WatchHandle h = poll->watch(f,
                              [&] {
                                std::lock_guard<std::mutex> lock(mu);
                                seen.push_back(read_file(f).value_or("<missing>"));
                              })
                      .value();
  struct stat st {};
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  write_in_place(f, "bbbb");
  const timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, f.c_str(), times, 0), 0);
  EXPECT_TRUE(wait_until([&] {
    std::lock_guard<std::mutex> lock(mu);
    return std::find(seen.begin(), seen.end(), "bbbb") != seen.end();
  }));
}

TEST_F(FileWatchTest, B24_PollingDetectsDeleteAndRecreate) {
  const fs::path app = dir.write("app.yaml", "value: old\n");
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kPoll).ok());
  fs::remove(app);
  ASSERT_TRUE(wait_state(app, SourceState::kMissing));
  EXPECT_EQ(value("value"), "old");
  write_file(app, "value: new\n");
  ASSERT_TRUE(wait_value("value", "new"));
  EXPECT_TRUE(wait_state(app, SourceState::kOk));
}

TEST_F(FileWatchTest, B24_PollingDetectsSymlinkRetarget) {
  const fs::path t1 = dir.write("t1.yaml", "value: one\n");
  const fs::path t2 = dir.write("t2.yaml", "value: two\n");
  // Same size and timestamps for both targets.
  struct stat st {};
  ASSERT_EQ(::stat(t1.c_str(), &st), 0);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, t2.c_str(), times, 0), 0);
  const fs::path app = dir / "app.yaml";
  fs::create_symlink("t1.yaml", app);
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kPoll).ok());
  ASSERT_EQ(value("value"), "one");
  fs::create_symlink("t2.yaml", dir / "app.yaml.new");
  fs::rename(dir / "app.yaml.new", app);
  ASSERT_TRUE(wait_value("value", "two"));
}

// --- 25. Filesystem types, force-poll, hybrid
// -------------------------------------------------------

TEST_F(FileWatchTest, B25_LocalFilesystemIsNotNetworkAndAutoSelectsInotify) {
  EXPECT_FALSE(is_network_filesystem(dir.path()));
  EXPECT_FALSE(is_network_filesystem(dir / "not" / "there" / "yet.yaml"));
  EXPECT_FALSE(is_network_filesystem("/dev/shm"));  // tmpfs
  EXPECT_EQ(make_watcher(dir.path(), WatchMode::kAuto)->name(), "inotify");
  EXPECT_EQ(make_watcher(dir.path(), WatchMode::kInotify)->name(), "inotify");
}

// The positive case without a network mount: the classification itself,
// fed every magic number from the kernel's own header (a wrong number in our
// table fails here, not only on a machine that mounts that filesystem).
TEST(FileWatchFilesystems, B25_NetworkAndFuseFilesystemTypesAreClassifiedByTheKernelsMagicNumbers) {
  for (const std::int64_t magic : std::initializer_list<std::int64_t>{
           NFS_SUPER_MAGIC, SMB_SUPER_MAGIC, CIFS_SUPER_MAGIC, SMB2_SUPER_MAGIC, FUSE_SUPER_MAGIC,
           V9FS_MAGIC, CEPH_SUPER_MAGIC, AFS_FS_MAGIC, AFS_SUPER_MAGIC, CODA_SUPER_MAGIC,
           OCFS2_SUPER_MAGIC}) {
    EXPECT_TRUE(detail::is_network_filesystem_type(magic)) << std::hex << magic;
  }
  // statfs' signed f_type: the top-bit magics sign-extended.
  EXPECT_TRUE(detail::is_network_filesystem_type(
      static_cast<std::int32_t>(static_cast<std::uint32_t>(CIFS_SUPER_MAGIC))));
  EXPECT_TRUE(detail::is_network_filesystem_type(
      static_cast<std::int32_t>(static_cast<std::uint32_t>(SMB2_SUPER_MAGIC))));
  for (const std::int64_t magic :
       std::initializer_list<std::int64_t>{EXT4_SUPER_MAGIC, TMPFS_MAGIC, BTRFS_SUPER_MAGIC,
                                           XFS_SUPER_MAGIC, OVERLAYFS_SUPER_MAGIC}) {
    EXPECT_FALSE(detail::is_network_filesystem_type(magic)) << std::hex << magic;
  }
}

TEST(FileWatchFilesystems, B25_MountedNetworkFilesystemsAreDetected) {
  // NFS, SMB or FUSE cannot be mounted here; if the machine has one, check it.
  const std::optional<std::string> mounts = read_file("/proc/self/mounts");
  ASSERT_TRUE(mounts);
  std::istringstream in(*mounts);
  std::string line;
  std::vector<fs::path> network;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string device;
    std::string mount_point;
    std::string type;
    fields >> device >> mount_point >> type;
    for (const char* t : {"nfs", "nfs4", "cifs", "smb3", "9p", "ceph", "afs"}) {
      if (type == t) {
        network.emplace_back(mount_point);
      }
    }
    if (type.rfind("fuse", 0) == 0 && type != "fusectl") {
      network.emplace_back(mount_point);
    }
  }
  if (network.empty()) {
    GTEST_SKIP() << "no network or FUSE filesystem is mounted on this machine";
  }
  for (const fs::path& p : network) {
    std::error_code ec;
    if (fs::exists(p, ec)) {
      EXPECT_TRUE(is_network_filesystem(p)) << p;
      EXPECT_NE(make_watcher(p, WatchMode::kAuto)->name(), "inotify") << p;
    }
  }
}

TEST_F(FileWatchTest, B25_ForcePollOptionUsesPollingOnly) {
  EXPECT_EQ(make_watcher(dir.path(), WatchMode::kPoll)->name(), "poll");
  std::shared_ptr<detail::InotifyWatcher> watcher = shared_inotify();
  ASSERT_TRUE(watcher);
  const std::size_t w0 = watcher->watch_count_for_test();
  const fs::path app = dir.write("app.yaml", "value: old\n");
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kPoll).ok());
  EXPECT_EQ(watcher->watch_count_for_test(), w0) << "force-poll must not use inotify";
  write_in_place(app, "value: new\n");
  ASSERT_TRUE(wait_value("value", "new"));
}

TEST_F(FileWatchTest, B25_HybridModeAlsoSeesChangesInotifyCannotSee) {
  EXPECT_EQ(make_watcher(dir.path(), WatchMode::kHybrid)->name(), "hybrid");
  const fs::path app = dir.write("app.yaml", "value: aaaa\n");
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kHybrid).ok());  // slow poll: 100 ms
  add_sentinel(dir.path());
  // inotify part: an ordinary save.
  atomic_save(app, "value: bbbb\n");
  ASSERT_TRUE(wait_value("value", "bbbb"));
  // Poll part: a change with no inotify event (as on NFS, made by another host).
  std::unique_ptr<Mapping> mapping =
      silent_replace(app, "bbbb", "cccc", [&] { ASSERT_TRUE(flush_sentinel()); });
  ASSERT_TRUE(mapping);
  ASSERT_TRUE(wait_value("value", "cccc")) << "the slow poll did not see the change";
}

TEST_F(FileWatchTest, Extra_WatchModeNoneLoadsOnceAndNeverReloads) {
  const fs::path app = dir.write("app.yaml", "value: old\n");
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kNone).ok());
  add_sentinel(dir.path());
  const Counts before = counts(app);
  atomic_save(app, "value: new\n");
  EXPECT_TRUE(reloaded_exactly(app, before, 0));
  EXPECT_EQ(value("value"), "old");
}

// --- 26. The application's own writes
// ---------------------------------------------------------------

TEST_F(FileWatchTest, B26_OtherWritesInTheWatchedDirectoryNeverReload) {
  const fs::path app = dir.write("app.yaml", "value: old\nport: 1\n");
  ASSERT_TRUE(add_file(app).ok());
  add_sentinel(dir.path());
  const Counts before = counts(app);

  // A log appended line by line.
  const fs::path log = dir / "app.log";
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 200; ++i) {
    const std::string line = "line " + std::to_string(i) + "\n";
    ASSERT_EQ(::write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  }
  ::close(fd);
  // Rendered output of the config itself, written next to it (atomically and in place).
  const std::string rendered = manager->export_config(kConfig).value();
  atomic_save(dir / "app.rendered.json", rendered);
  write_in_place(dir / "app.effective.yaml", "value: rendered\n");
  // A cache directory, a pid file, a lock file.
  fs::create_directory(dir / ".cache");
  write_file(dir / ".cache" / "app.yaml", "value: cached\n");
  write_file(dir / "app.pid", std::to_string(::getpid()));
  write_file(dir / "app.yaml.lock", "");
  fs::remove(dir / "app.yaml.lock");

  EXPECT_TRUE(reloaded_exactly(app, before, 0));
  EXPECT_EQ(value("value"), "old");
}

// --- A directory where a file is expected (issue 7, bad input) ---------------------------------

TEST_F(FileWatchTest, FileReplacedByADirectoryIsAnErrorAndKeepsTheLastGoodLayer) {
  const fs::path app = dir.write("app.yaml", "value: old\n");
  ASSERT_TRUE(add_file(app).ok());
  fs::remove(app);
  fs::create_directory(app);
  ASSERT_TRUE(wait_state(app, SourceState::kError))
      << source_state_name(state(app).value_or(SourceState::kOk));
  const std::string error = last_error(app);
  EXPECT_NE(error.find("is a directory, expected a file"), std::string::npos) << error;
  EXPECT_NE(error.find(app.string()), std::string::npos) << error;
  EXPECT_EQ(value("value"), "old") << "the file's keys must not vanish";
  ASSERT_TRUE(source_status(app));
  EXPECT_EQ(source_status(app)->layers.size(), 1u);

  fs::remove(app);
  write_file(app, "value: new\n");
  EXPECT_TRUE(wait_value("value", "new"));
  EXPECT_TRUE(wait_state(app, SourceState::kOk));
}

TEST_F(FileWatchTest, ConfDirectoryReplacedByAFileIsAnErrorAndKeepsTheLastGoodLayers) {
  const fs::path conf = dir.path() / "conf.d";
  fs::create_directory(conf);
  write_file(conf / "10-a.yaml", "value: from-dir\n");
  ASSERT_TRUE(add_file(conf).ok());
  ASSERT_EQ(value("value"), "from-dir");
  fs::remove_all(conf);
  write_file(conf, "value: from-file\n");
  ASSERT_TRUE(wait_state(conf, SourceState::kError))
      << source_state_name(state(conf).value_or(SourceState::kOk));
  EXPECT_NE(last_error(conf).find("no longer a directory"), std::string::npos) << last_error(conf);
  EXPECT_EQ(value("value"), "from-dir");

  fs::remove(conf);
  fs::create_directory(conf);
  write_file(conf / "10-a.yaml", "value: back\n");
  EXPECT_TRUE(wait_value("value", "back"));
}

TEST_F(FileWatchTest, DirectoryNamedLikeAConfigInsideConfDIsSkipped) {
  const fs::path conf = dir.path() / "conf.d";
  fs::create_directory(conf);
  write_file(conf / "10-a.yaml", "a: 1\n");
  fs::create_directory(conf / "20-b.yaml");
  write_file(conf / "20-b.yaml" / "inner.yaml", "b: 2\n");
  ASSERT_TRUE(add_file(conf).ok());
  EXPECT_EQ(value("a"), "1");
  EXPECT_EQ(value("b"), std::nullopt) << "a directory is not read as a config file";
  EXPECT_EQ(state(conf), SourceState::kOk);
}

}  // namespace
}  // namespace liveconf::testing
