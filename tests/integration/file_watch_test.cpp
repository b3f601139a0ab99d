// BEHAVIOUR.md section 1 (items 1-10): how real programs save files, against
// real files, the real kernel inotify and real programs (sed, sh, mv, chmod,
// vim, emacs). The ground rule comes first: a refused file keeps the last good
// config and the next good one recovers.
#include <atomic>
#include <condition_variable>
#include <fcntl.h>
#include <linux/capability.h>
#include <mutex>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

// Header-only XXH3, to compute the hash the file source records.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "liveconf/bind.hpp"

#include "integration/file_watch_fixture.hpp"
#include "watch/inotify/inotify_watcher.hpp"

namespace liveconf::testing {

struct ServerConfig {
  std::string name = "svc";
  int port = 8080;
};

inline void liveconf_describe(Describer<ServerConfig>& d) {
  d.name("ServerConfig");
  d.field("name", &ServerConfig::name).non_empty();
  d.field("port", &ServerConfig::port).range(1, 65535);
}

namespace {

/// YAML with `n` keys k00..k(n-1) set to `letter`, then "value: <value>".
std::string many_keys(int n, const std::string& letter, const std::string& value) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += "k" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ": " + letter + "\n";
  }
  return out + "value: " + value + "\n";
}

/// `text` cut into three chunks, each ending on a line (so every prefix is valid YAML).
std::vector<std::string> three_chunks(const std::string& text) {
  std::vector<std::string> chunks;
  std::size_t pos = 0;
  for (std::size_t c = 1; c <= 3; ++c) {
    const std::size_t end = c == 3 ? text.size() : text.find('\n', (text.size() * c) / 3) + 1;
    chunks.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return chunks;
}

/// True when the snapshot holds all `n` keys with one letter and the matching value.
::testing::AssertionResult complete(const SnapshotPtr& s, int n) {
  const std::optional<std::string> v = scalar_text(s->find("value"));
  if (!v || (*v != "old" && *v != "new")) {
    return ::testing::AssertionFailure()
           << "generation " << s->generation() << " has value " << v.value_or("<absent>");
  }
  const std::string letter = *v == "old" ? "a" : "b";
  for (int i = 0; i < n; ++i) {
    const std::string key = "k" + std::string(i < 10 ? "0" : "") + std::to_string(i);
    if (scalar_text(s->find(KeyPath(key))) != letter) {
      return ::testing::AssertionFailure()
             << "generation " << s->generation() << " is partial: " << key << " is "
             << scalar_text(s->find(KeyPath(key))).value_or("<absent>");
    }
  }
  return ::testing::AssertionSuccess();
}

/// Drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the calling thread's
/// effective set (raw capset: only this thread), so that threads it creates
/// meanwhile honour file permissions even when the test runs as root.
class ScopedNoDacOverride {
 public:
  ScopedNoDacOverride() {
    header_.version = _LINUX_CAPABILITY_VERSION_3;
    header_.pid = 0;
    if (::syscall(SYS_capget, &header_, saved_) != 0) {
      return;
    }
    __user_cap_data_struct reduced[2] = {saved_[0], saved_[1]};
    reduced[0].effective &= ~((1U << CAP_DAC_OVERRIDE) | (1U << CAP_DAC_READ_SEARCH));
    ok_ = ::syscall(SYS_capset, &header_, reduced) == 0;
  }
  ~ScopedNoDacOverride() { restore(); }
  ScopedNoDacOverride(const ScopedNoDacOverride&) = delete;
  ScopedNoDacOverride& operator=(const ScopedNoDacOverride&) = delete;

  [[nodiscard]] bool ok() const { return ok_; }
  void restore() {
    if (ok_) {
      ::syscall(SYS_capset, &header_, saved_);
      ok_ = false;
    }
  }

 private:
  __user_cap_header_struct header_{};
  __user_cap_data_struct saved_[2]{};
  bool ok_ = false;
};

// --- Ground rule: a refused file keeps the last good config
// ----------------------------------------

TEST_F(FileWatchTest, B00_InvalidContentKeepsLastGoodWithLocationAndRecovers) {
  ASSERT_TRUE(manager->register_config<ServerConfig>("server").ok());
  const fs::path app = dir.write("server.yaml", "name: api\nport: 8080\n");
  Result<std::unique_ptr<Source>> source = make_file_source(options(app));
  ASSERT_TRUE(source) << source.error().to_string();
  ASSERT_TRUE(manager->add_source("server", std::move(*source)).ok());
  auto port = [&] { return (*manager->get<ServerConfig>("server"))->port; };
  auto server_source = [&] { return manager->status("server")->sources.at(0); };
  ASSERT_EQ(port(), 8080);

  // Out of range: refused by validation, reported with file:line.
  atomic_save(app, "name: api\nport: 70000\n");
  ASSERT_TRUE(wait_until([&] { return server_source().state == SourceState::kError; }))
      << source_state_name(server_source().state);
  ASSERT_TRUE(server_source().last_error.has_value());
  const std::string error = server_source().last_error->to_string();
  EXPECT_NE(error.find("port"), std::string::npos) << error;
  EXPECT_NE(error.find("server.yaml:2"), std::string::npos) << error;
  EXPECT_EQ(port(), 8080);

  // Not YAML at all: a parse error naming the file, the last good still served.
  atomic_save(app, "name: api\nport: [1,\n");
  ASSERT_TRUE(wait_until([&] {
    const SourceStatus s = server_source();
    return s.last_error && s.last_error->code() == ErrorCode::kParse;
  })) << server_source().last_error.value_or(Error(ErrorCode::kInternal, "none")).to_string();
  EXPECT_NE(server_source().last_error->to_string().find("server.yaml"), std::string::npos);
  EXPECT_EQ(port(), 8080);

  // The next good content recovers.
  atomic_save(app, "name: api\nport: 9090\n");
  ASSERT_TRUE(wait_until([&] { return port() == 9090; }));
  EXPECT_TRUE(wait_until([&] { return server_source().state == SourceState::kOk; }));
  EXPECT_FALSE(server_source().last_error.has_value());
  EXPECT_GE(manager->status("server")->failures, 1u);
}

TEST_F(FileWatchTest, B00_TouchChmodAndIdenticalResavesNotifyNothing) {
  const fs::path app = dir.write("app.yaml", "value: same\n");
  ASSERT_TRUE(add_file(app).ok());
  add_sentinel(dir.path());
  std::atomic<int> calls{0};
  auto sub = manager->subscribe(
      kConfig, "value", [&](const SnapshotPtr&, const SnapshotPtr&, const ChangeSet&) { ++calls; });
  ASSERT_TRUE(sub);
  const Counts before = counts(app);
  if (program_available("touch")) {
    ASSERT_EQ(run_program({"touch", app.string()}), 0);
  }
  fs::permissions(app, fs::perms::owner_read | fs::perms::owner_write);
  fs::permissions(app, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                           fs::perms::others_read);
  atomic_save(app, "value: same\n");
  write_in_place(app, "value: same\n");
  vim_save(app, "value: same\n");
  ASSERT_TRUE(flush_sentinel());
  ASSERT_TRUE(settle());
  // Reloads are allowed (the bytes must be compared); publishes are not.
  EXPECT_EQ(publishes() - before.publishes, 1u) << "only the sentinel may publish";
  EXPECT_EQ(calls.load(), 0);
  EXPECT_TRUE(wait_state(app, SourceState::kOk));
}

// --- 1. Atomic save
// -------------------------------------------------------------------------------

TEST_F(FileWatchTest, B01_AtomicSaveReloadsOnceWithNewContent) {
  const fs::path app = dir.write("app.yaml", "value: old\n");
  ASSERT_TRUE(add_file(app).ok());
  add_sentinel(dir.path());
  ASSERT_EQ(value("value"), "old");

  const Counts before = counts(app);
  atomic_save(app, "value: new\n");
  ASSERT_TRUE(wait_value("value", "new"));
  EXPECT_TRUE(reloaded_exactly(app, before, 1));
  EXPECT_TRUE(wait_state(app, SourceState::kOk));
  // The layer version is the new content's hash.
  const auto st = source_status(app);
  ASSERT_TRUE(st && st->layers.size() == 1);
  EXPECT_EQ(st->layers[0].name, layer_name(app));
  EXPECT_FALSE(st->layers[0].version.empty());
}

TEST_F(FileWatchTest, B01_SedInPlaceReloadsOnceWithNewContent) {
  if (!program_available("sed")) {
    GTEST_SKIP() << "sed is not installed";
  }
  const fs::path app = dir.write("app.yaml", "value: old\nother: keep\n");
  ASSERT_TRUE(add_file(app).ok());
  add_sentinel(dir.path());

  const Counts before = counts(app);
  // GNU sed -i writes ./sedXXXXXX in the same directory and renames it over the file.
  ASSERT_EQ(run_program({"sed", "-i", "s/old/new/", app.string()}), 0);
  ASSERT_TRUE(wait_value("value", "new"));
  EXPECT_EQ(value("other"), "keep");
  EXPECT_TRUE(reloaded_exactly(app, before, 1));
}

// --- 2. In-place truncate + write
// -----------------------------------------------------------------

TEST_F(FileWatchTest, B02_TruncateAndWriteInPlaceReloadsOnceWithCompleteContent) {
  constexpr int kKeys = 40;
  const fs::path app = dir.write("app.yaml", many_keys(kKeys, "a", "old"));
  ASSERT_TRUE(add_file(app).ok());
  add_sentinel(dir.path());
  record_publishes();

  const Counts before = counts(app);
  write_in_place(app, many_keys(kKeys, "b", "new"));
  ASSERT_TRUE(wait_value("value", "new"));
  EXPECT_TRUE(reloaded_exactly(app, before, 1));
  EXPECT_TRUE(events_for(app).empty()) << "the empty/partial file was loaded and refused";
  for (const SnapshotPtr& s : published()) {
    EXPECT_TRUE(complete(s, kKeys));
  }
}

TEST_F(FileWatchTest, B02_ShellRedirectionReloadsOnceWithCompleteContent) {
  if (!program_available("sh") || !program_available("cat")) {
    GTEST_SKIP() << "sh or cat is not installed";
  }
  constexpr int kKeys = 200;  // several KiB: cat may write it in more than one write()
  const fs::path app = dir.write("app.yaml", many_keys(kKeys, "a", "old"));
  ASSERT_TRUE(add_file(app).ok());
  add_sentinel(dir.path());
  record_publishes();
  TempDir elsewhere;
  const fs::path src = elsewhere.write("src.yaml", many_keys(kKeys, "b", "new"));

  const Counts before = counts(app);
  ASSERT_EQ(run_program({"sh", "-c", "cat \"$0\" > \"$1\"", src.string(), app.string()}), 0);
  ASSERT_TRUE(wait_value("value", "new"));
  EXPECT_TRUE(reloaded_exactly(app, before, 1));
  for (const SnapshotPtr& s : published()) {
    EXPECT_TRUE(complete(s, kKeys));
  }
}

// --- 3. Slow in-place writer
// ----------------------------------------------------------------------

TEST_F(FileWatchTest, B03_SlowWriterThreeChunksReloadsOnceWithFullContent) {
  // The default debounce (quiet 100 ms) is shorter than the writer's 150 ms
  // gaps: only waiting for IN_CLOSE_WRITE avoids loading a partial file. Each
  // chunk ends on a line, so every partial state is valid YAML with fewer keys.
  constexpr int kKeys = 30;
  const fs::path app = dir.write("app.yaml", many_keys(kKeys, "a", "old"));
  ASSERT_TRUE(add_file(app, Debounce{}).ok());
  add_sentinel(dir.path());
  record_publishes();

  const std::vector<std::string> chunks = three_chunks(many_keys(kKeys, "b", "new"));
  const Counts before = counts(app);
  slow_write_in_place(app, chunks, 150ms);
  ASSERT_TRUE(wait_value("value", "new"));
  EXPECT_TRUE(reloaded_exactly(app, before, 1));
  EXPECT_TRUE(events_for(app).empty());
  for (const SnapshotPtr& s : published()) {
    EXPECT_TRUE(complete(s, kKeys));
  }
}

/// Holds the process's inotify thread inside a callback until release(), so
/// that the events queued meanwhile are handled only afterwards: a way to
/// make "the watcher looks after the writer has written" happen every time
/// instead of by chance.
class BlockedInotifyThread {
 public:
  BlockedInotifyThread() {
    watcher_ = std::dynamic_pointer_cast<detail::InotifyWatcher>(inotify_watcher().value());
    handle_ = watcher_
                  ->watch(block_dir_ / "block",
                          [this] {
                            std::unique_lock<std::mutex> lock(mu_);
                            entered_ = true;
                            cv_.notify_all();
                            cv_.wait_for(lock, std::chrono::seconds(30), [&] { return released_; });
                          })
                  .value();
    // One event (IN_MOVED_TO from another directory) enters the callback.
    write_file(staging_ / "block", "x");
    fs::rename(staging_ / "block", block_dir_ / "block");
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return entered_; });
  }
  ~BlockedInotifyThread() {
    release();
    handle_.cancel();
  }
  BlockedInotifyThread(const BlockedInotifyThread&) = delete;
  BlockedInotifyThread& operator=(const BlockedInotifyThread&) = delete;

  [[nodiscard]] bool blocked() {
    std::lock_guard<std::mutex> lock(mu_);
    return entered_ && !released_;
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }

 private:
  TempDir block_dir_;
  TempDir staging_;
  std::shared_ptr<detail::InotifyWatcher> watcher_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
  WatchHandle handle_;
};

TEST_F(FileWatchTest, B03_SlowWriterCreatingANewFileNeverPublishesAPartialFile) {
  // The same slow writer, but the file is new (an optional source appearing,
  // or written after a delete): open(O_CREAT) is reported as IN_CREATE, and
  // when the watcher gets to it the first chunk may already be written (here
  // it always is: the watcher's thread is held until then).
  constexpr int kKeys = 30;
  const fs::path app = dir / "app.yaml";
  ASSERT_TRUE(add_file(app, Debounce{}, WatchMode::kAuto, /*optional=*/true).ok());
  add_sentinel(dir.path());
  record_publishes();
  const std::vector<std::string> chunks = three_chunks(many_keys(kKeys, "b", "new"));
  const Counts start = counts(app);
  {
    BlockedInotifyThread block;
    ASSERT_TRUE(block.blocked());
    const int fd = ::open(app.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, chunks[0].data(), chunks[0].size()),
              static_cast<ssize_t>(chunks[0].size()));
    block.release();  // the watcher now sees IN_CREATE for a file with content
    for (std::size_t i = 1; i < chunks.size(); ++i) {
      std::this_thread::sleep_for(150ms);  // the writer is slow: the scenario
      ASSERT_EQ(::write(fd, chunks[i].data(), chunks[i].size()),
                static_cast<ssize_t>(chunks[i].size()));
    }
    ::close(fd);
  }
  ASSERT_TRUE(wait_value("value", "new"));
  // One publish, never a partial one (checked below). The load count may be 2:
  // TODO(liveconf): under TSan on a loaded machine the busy hold was once
  // missed (CI, session 2) and a reload read the half-written file, which
  // was refused, not published; find why busy() was not yet set.
  EXPECT_TRUE(reloaded_within(app, start, 1, 2, 1));
  for (const SnapshotPtr& s : published()) {
    if (s->find("value") != nullptr || s->find("k00") != nullptr) {
      EXPECT_TRUE(complete(s, kKeys));
    }
  }
}

// --- 4. vim -------------------------------------------------------------------------------------

TEST_F(FileWatchTest, B04_VimSaveReloadsOnceAndLaterSavesKeepWorking) {
  if (!program_available("vim")) {
    GTEST_SKIP() << "vim is not installed (Debian package: vim)";
  }
  const fs::path app = dir.write("app.yaml", "value: old\n");
  // vim fsyncs between renaming the file away and closing the new one: leave
  // room for a slow fsync inside the quiet period.
  ASSERT_TRUE(add_file(app, Debounce{300ms, 3000ms}).ok());
  add_sentinel(dir.path());
  TempDir scratch;

  // Default save: probe "4913", rename to app.yaml~, create, write, fsync, close, delete backup.
  auto vim = [&](const std::string& substitute) {
    return run_program({"vim", "-u", "NONE", "-i", "NONE", "-N", "-n", "-es", "-c",
                        "set writebackup nobackup backupcopy=auto", "-c", substitute, "-c", "wq",
                        app.filename().string()},
                       dir.path(), scratch / "vim.log");
  };
  Counts before = counts(app);
  ASSERT_EQ(vim("%s/old/new/"), 0) << read_file(scratch / "vim.log").value_or("");
  ASSERT_TRUE(wait_value("value", "new"));
  EXPECT_TRUE(reloaded_exactly(app, before, 1));
  EXPECT_FALSE(fs::exists(dir / "app.yaml~"));

  before = counts(app);
  ASSERT_EQ(vim("%s/new/newer/"), 0) << read_file(scratch / "vim.log").value_or("");
  ASSERT_TRUE(wait_value("value", "newer"));
  EXPECT_TRUE(reloaded_exactly(app, before, 1));
}

TEST_F(FileWatchTest, B04_VimSaveSequenceReplayReloadsOnceAndLaterSavesKeepWorking) {
  const fs::path app = dir.write("app.yaml", "value: v0\n");
  ASSERT_TRUE(add_file(app, Debounce{300ms, 3000ms}).ok());  // room for vim's fsync
  add_sentinel(dir.path());
  for (int i = 1; i <= 3; ++i) {
    const Counts before = counts(app);
    vim_save(app, "value: v" + std::to_string(i) + "\n");
    ASSERT_TRUE(wait_value("value", "v" + std::to_string(i))) << "save " << i;
    EXPECT_TRUE(reloaded_exactly(app, before, 1)) << "save " << i;
  }
}

TEST_F(FileWatchTest, B04_VimSaveOfASlowlyWrittenFileNeverPublishesAPartialFile) {
  // vim renames the file away first, so the name is missing and then holds a
  // growing new file until vim closes it. With a large file on a slow disk
  // the writes take longer than the quiet period (here 3 chunks, 150 ms
  // apart; the default quiet is 100 ms). Ground rule: never publish a
  // half-written file; item 4: one reload.
  constexpr int kKeys = 30;
  const fs::path app = dir.write("app.yaml", many_keys(kKeys, "a", "old"));
  ASSERT_TRUE(add_file(app, Debounce{}).ok());
  add_sentinel(dir.path());
  record_publishes();
  const Counts before = counts(app);
  vim_save(app, three_chunks(many_keys(kKeys, "b", "new")), 150ms);
  ASSERT_TRUE(wait_value("value", "new"));
  EXPECT_TRUE(reloaded_exactly(app, before, 1, 1));
  for (const SnapshotPtr& s : published()) {
    EXPECT_TRUE(complete(s, kKeys));
  }
}

// --- 5. Emacs -----------------------------------------------------------------------------------

TEST_F(FileWatchTest, B05_EmacsFirstSaveThenTwoInPlaceSavesReloadThreeTimes) {
  if (!program_available("emacs")) {
    GTEST_SKIP() << "emacs is not installed (Debian package: emacs-nox)";
  }
  const fs::path app = dir.write("app.yaml", "value: v0\n");
  ASSERT_TRUE(add_file(app).ok());
  add_sentinel(dir.path());
  TempDir scratch;  // markers and output, outside the watched directory

  // One emacs session saves three times: the first save renames app.yaml to
  // app.yaml~ and creates a new file, the next two write in place. Before
  // each save it waits for the test's go-marker, so the saves are spaced
  // beyond the debounce by construction rather than by sleeping.
  const std::string script =
      "(dolist (i '(1 2 3))"
      "  (let ((n 0) (go (format \"%s/go%d\" \"" +
      scratch.path().string() +
      "\" i)))"
      "    (while (and (not (file-exists-p go)) (< n 3000)) (sleep-for 0.01) (setq n (1+ n))))"
      "  (erase-buffer)"
      "  (insert (format \"value: v%d\\n\" i))"
      "  (save-buffer))";
  const Counts before = counts(app);
  write_file(scratch / "go1", "");
  ChildProcess emacs({"emacs", "--batch", "-Q", app.string(), "--eval", script}, dir.path(),
                     scratch / "emacs.log");
  ASSERT_TRUE(wait_value("value", "v1")) << read_file(scratch / "emacs.log").value_or("");
  EXPECT_TRUE(fs::exists(dir / "app.yaml~")) << "emacs' first save did not make a backup";
  write_file(scratch / "go2", "");
  ASSERT_TRUE(wait_value("value", "v2")) << read_file(scratch / "emacs.log").value_or("");
  write_file(scratch / "go3", "");
  ASSERT_TRUE(wait_value("value", "v3")) << read_file(scratch / "emacs.log").value_or("");
  EXPECT_EQ(emacs.wait(), 0) << read_file(scratch / "emacs.log").value_or("");
  EXPECT_TRUE(reloaded_exactly(app, before, 3));
  EXPECT_EQ(read_file(app), "value: v3\n");
}

TEST_F(FileWatchTest, B05_EmacsSaveSequenceReplayReloadsThreeTimes) {
  const fs::path app = dir.write("app.yaml", "value: v0\n");
  ASSERT_TRUE(add_file(app).ok());
  add_sentinel(dir.path());
  const Counts before = counts(app);
  emacs_first_save(app, "value: v1\n");
  ASSERT_TRUE(wait_value("value", "v1"));
  // A per-file watch would now follow app.yaml~; the later saves go to the new file.
  emacs_later_save(app, "value: v2\n");
  ASSERT_TRUE(wait_value("value", "v2"));
  emacs_later_save(app, "value: v3\n");
  ASSERT_TRUE(wait_value("value", "v3"));
  EXPECT_TRUE(reloaded_exactly(app, before, 3));
  // Writing the backup (which kept the old inode) never reloads.
  const Counts after = counts(app);
  write_in_place(dir / "app.yaml~", "value: backup\n");
  EXPECT_TRUE(reloaded_exactly(app, after, 0));
  EXPECT_EQ(value("value"), "v3");
}

// --- 6. JetBrains safe write
// ----------------------------------------------------------------------

TEST_F(FileWatchTest, B06_JetBrainsSafeWriteReloadsOnce) {
  const fs::path app = dir.write("app.yaml", "value: old\n");
  ASSERT_TRUE(add_file(app).ok());
  add_sentinel(dir.path());
  const Counts before = counts(app);
  jetbrains_safe_write(app, "value: new\n");
  ASSERT_TRUE(wait_value("value", "new"));
  EXPECT_TRUE(reloaded_exactly(app, before, 1));
  EXPECT_FALSE(fs::exists(dir / "app.yaml___jb_old___"));
  EXPECT_FALSE(fs::exists(dir / "app.yaml___jb_tmp___"));
}

// --- 7. mv from another directory
// -----------------------------------------------------------------

TEST_F(FileWatchTest, B07_MoveFromAnotherDirectoryReloads) {
  if (!program_available("mv")) {
    GTEST_SKIP() << "mv is not installed";
  }
  const fs::path app = dir.write("app.yaml", "value: old\n");
  ASSERT_TRUE(add_file(app).ok());
  add_sentinel(dir.path());
  TempDir staging;  // same filesystem: mv is a rename, the watch sees only IN_MOVED_TO
  ASSERT_EQ(fs::status(staging.path()).type(), fs::file_type::directory);
  const fs::path staged = staging.write("app.yaml", "value: new\n");

  const Counts before = counts(app);
  ASSERT_EQ(run_program({"mv", staged.string(), app.string()}), 0);
  ASSERT_TRUE(wait_value("value", "new"));
  EXPECT_TRUE(reloaded_exactly(app, before, 1));
}

TEST_F(FileWatchTest, B07_MoveIntoAnAbsentOptionalFileLoadsIt) {
  if (!program_available("mv")) {
    GTEST_SKIP() << "mv is not installed";
  }
  const fs::path app = dir / "app.yaml";
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kAuto, /*optional=*/true).ok());
  EXPECT_EQ(state(app), SourceState::kMissing);
  TempDir staging;
  const fs::path staged = staging.write("app.yaml", "value: moved\n");
  ASSERT_EQ(run_program({"mv", staged.string(), app.string()}), 0);
  ASSERT_TRUE(wait_value("value", "moved"));
  EXPECT_TRUE(wait_state(app, SourceState::kOk));
}

// --- 8. Unrelated names in the same directory
// -----------------------------------------------------

TEST_F(FileWatchTest, B08_WritesToUnrelatedNamesNeverReload) {
  const fs::path app = dir.write("app.yaml", "value: old\n");
  ASSERT_TRUE(add_file(app).ok());
  add_sentinel(dir.path());
  const Counts before = counts(app);

  // vim's probe, backups, emacs lock, JetBrains temp, sed's temp, other files.
  write_file(dir / "4913", "");
  fs::remove(dir / "4913");
  write_file(dir / "app.yaml~", "value: backup\n");
  fs::remove(dir / "app.yaml~");
  fs::create_symlink("user@host.1234", dir / ".#app.yaml");
  fs::remove(dir / ".#app.yaml");
  write_file(dir / "app.yaml___jb_tmp___", "value: jb\n");
  fs::remove(dir / "app.yaml___jb_tmp___");
  write_file(dir / "sedAb12Cd", "value: sed\n");
  write_file(dir / "other.yaml", "value: other\n");
  atomic_save(dir / "other.yaml", "value: other2\n", "sedXy34Zw");  // sed -i on another file
  write_file(dir / "app.yaml.bak", "value: bak\n");
  write_file(dir / "#app.yaml#", "value: autosave\n");
  write_file(dir / "notes.txt", "hello\n");
  fs::create_directory(dir / "subdir");
  write_file(dir / "subdir" / "app.yaml", "value: nested\n");
  fs::rename(dir / "notes.txt", dir / "notes2.txt");
  if (program_available("sed")) {
    ASSERT_EQ(run_program({"sed", "-i", "s/other2/other3/", (dir / "other.yaml").string()}), 0);
  }

  EXPECT_TRUE(reloaded_exactly(app, before, 0));
  EXPECT_EQ(value("value"), "old");
}

// --- 9. Bursts ----------------------------------------------------------------------------------

TEST_F(FileWatchTest, B09_TenSavesInsideTheQuietPeriodReloadOnceWithTheLastContent) {
  const fs::path app = dir.write("app.yaml", "value: v0\n");
  ASSERT_TRUE(add_file(app, Debounce{500ms, 5000ms}).ok());
  add_sentinel(dir.path());
  record_publishes();

  const Counts before = counts(app);
  for (int i = 1; i <= 10; ++i) {
    if (i > 1) {
      std::this_thread::sleep_for(10ms);  // the user saves every 10 ms: the scenario
    }
    atomic_save(app, "value: v" + std::to_string(i) + "\n");
  }
  ASSERT_TRUE(wait_value("value", "v10"));
  EXPECT_TRUE(reloaded_exactly(app, before, 1));
  for (const SnapshotPtr& s : published()) {
    const auto v = scalar_text(s->find("value"));
    EXPECT_TRUE(v == "v0" || v == "v10")
        << "an intermediate save was published: " << v.value_or("");
  }
}

TEST_F(FileWatchTest, B09_ContinuousRewritingReloadsAtLeastOncePerMaxWait) {
  const fs::path app = dir.write("app.yaml", "value: v0\n");
  constexpr auto kMaxWait = 300ms;
  constexpr auto kWriting = 1500ms;
  ASSERT_TRUE(add_file(app, Debounce{150ms, kMaxWait}).ok());

  // Rewritten every 20 ms for 1.5 s: the quiet period never comes.
  const std::uint64_t loads0 = loads(app);
  const auto start = std::chrono::steady_clock::now();
  int i = 0;
  std::vector<std::pair<std::chrono::milliseconds, std::uint64_t>> timeline;
  while (std::chrono::steady_clock::now() - start < kWriting) {
    atomic_save(app, "value: v" + std::to_string(++i) + "\n");
    timeline.emplace_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start),
                          loads(app) - loads0);
    std::this_thread::sleep_for(20ms);  // the writer's pace: the scenario
  }
  const std::uint64_t during = loads(app) - loads0;
  // Reloads are due at about 300, 620, 940 and 1260 ms; allow one lost to a
  // loaded machine. Without max_wait there would be none until the end.
  EXPECT_GE(during, 3u) << "loads while the file was rewritten continuously for 1.5 s";
  // The first reload came within max_wait (+ slack) of the first write.
  for (const auto& [at, n] : timeline) {
    if (at > kMaxWait + 400ms) {
      EXPECT_GE(n, 1u) << "no reload yet " << at.count() << " ms into the burst";
      break;
    }
  }
  ASSERT_TRUE(wait_value("value", "v" + std::to_string(i)));
}

// --- 10. Permissions
// ------------------------------------------------------------------------------

TEST_F(FileWatchTest, B10_ChmodUnreadableKeepsLastGoodThenRestoringReloads) {
  const fs::path app = dir.write("app.yaml", "value: old\n");
  {
    // As root, reads ignore permissions. The manager's threads are created
    // while this thread has no DAC override, so they inherit that and honour
    // mode 000; the test thread gets its capabilities back afterwards.
    manager.reset();
    ScopedNoDacOverride no_override;
    if (::geteuid() == 0 && !no_override.ok()) {
      GTEST_SKIP() << "running as root and cannot drop CAP_DAC_OVERRIDE";
    }
    start_manager();
    ASSERT_TRUE(add_file(app).ok());
    add_sentinel(dir.path());
  }
  ASSERT_EQ(value("value"), "old");

  auto chmod = [&](const char* mode, fs::perms perms) {
    if (program_available("chmod")) {
      ASSERT_EQ(run_program({"chmod", mode, app.string()}), 0);
    } else {
      fs::permissions(app, perms);
    }
  };
  chmod("000", fs::perms::none);
  ASSERT_TRUE(wait_state(app, SourceState::kError)) << source_state_name(state(app).value());
  const std::string error = last_error(app);
  EXPECT_NE(error.find("ermission denied"), std::string::npos) << error;
  EXPECT_NE(error.find("app.yaml"), std::string::npos) << error;
  EXPECT_EQ(value("value"), "old");
  EXPECT_TRUE(wait_event(app, SourceState::kError, /*with_error=*/true))
      << "no on_source_event for the unreadable file";

  // Changed while unreadable (the test thread may write: it has its capabilities back).
  write_in_place(app, "value: new\n");
  ASSERT_TRUE(flush_sentinel());
  EXPECT_EQ(value("value"), "old");

  chmod("644", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                   fs::perms::others_read);
  ASSERT_TRUE(wait_value("value", "new"));
  EXPECT_TRUE(wait_state(app, SourceState::kOk));
  EXPECT_EQ(last_error(app), "");
}

// BEHAVIOUR 35: a file layer's version is its content hash (XXH3-64 of the
// bytes), so it changes on every edit that changes the bytes and comes back
// when the content does; the generation counts publishes.
TEST_F(FileWatchTest, B35_FileLayerVersionIsTheContentHashAndChangesOnEveryEdit) {
  auto hash_of = [](std::string_view bytes) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "xxh3:%016llx",
                  static_cast<unsigned long long>(XXH3_64bits(bytes.data(), bytes.size())));
    return std::string(hex);
  };
  auto version_now = [&](const fs::path& p) {
    const std::optional<SourceStatus> s = source_status(p);
    return s && s->layers.size() == 1 ? s->layers[0].version : std::string();
  };
  const std::string v1 = "value: one\n";
  const std::string v2 = "value: two\n";
  const fs::path app = dir.write("app.yaml", v1);
  ASSERT_TRUE(add_file(app).ok());
  EXPECT_EQ(version_now(app), hash_of(v1));
  const std::uint64_t g1 = (*manager->snapshot(kConfig))->generation();
  atomic_save(app, v2);
  ASSERT_TRUE(wait_value("value", "two"));
  EXPECT_TRUE(wait_until([&] { return version_now(app) == hash_of(v2); })) << version_now(app);
  EXPECT_EQ((*manager->snapshot(kConfig))->generation(), g1 + 1);
  // The same bytes as before: the same version as before.
  write_in_place(app, v1);
  ASSERT_TRUE(wait_value("value", "one"));
  EXPECT_TRUE(wait_until([&] { return version_now(app) == hash_of(v1); })) << version_now(app);
  // The snapshot's own list agrees with the source's.
  const std::vector<LayerVersion> versions = (*manager->snapshot(kConfig))->layer_versions();
  EXPECT_TRUE(std::any_of(versions.begin(), versions.end(), [&](const LayerVersion& v) {
    return v.name == layer_name(app) && v.version == hash_of(v1);
  }));
}

}  // namespace
}  // namespace liveconf::testing
