// BEHAVIOUR.md section 2 (items 11-16): files and directories that disappear,
// appear, are replaced or renamed away, and the release of every watch and
// descriptor when a manager, source, subscription or watch handle goes.
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "integration/file_watch_fixture.hpp"
#include "watch/inotify/inotify_watcher.hpp"

namespace liveconf::testing {
namespace {

bool has_event(const std::vector<SourceEvent>& events, SourceState s) {
  for (const SourceEvent& e : events) {
    if (e.state == s) {
      return true;
    }
  }
  return false;
}

// --- 11. Deleted file ---------------------------------------------------------------------------

TEST_F(FileWatchTest, B11_DeletedFileKeepsLastGoodReportsMissingAndRecreationReloads) {
  const fs::path app = dir.write("app.yaml", "value: old\n");
  ASSERT_TRUE(add_file(app).ok());
  ASSERT_EQ(value("value"), "old");

  fs::remove(app);
  ASSERT_TRUE(wait_state(app, SourceState::kMissing))
      << source_state_name(state(app).value_or(SourceState::kOk));
  EXPECT_EQ(value("value"), "old") << "the last good layer must be kept";
  const auto st = source_status(app);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->layers.size(), 1u) << "the last good layer is still live";
  EXPECT_TRUE(wait_event(app, SourceState::kMissing));

  write_file(app, "value: new\n");
  ASSERT_TRUE(wait_value("value", "new"));
  EXPECT_TRUE(wait_state(app, SourceState::kOk));
  EXPECT_TRUE(wait_event(app, SourceState::kOk)) << "recovery is reported too";
}

TEST_F(FileWatchTest, B11_DeletedOptionalFileReportsMissingAndRecreationReloads) {
  const fs::path app = dir.write("app.yaml", "value: old\n");
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kAuto, /*optional=*/true).ok());
  fs::remove(app);
  ASSERT_TRUE(wait_state(app, SourceState::kMissing));
  write_file(app, "value: new\n");
  ASSERT_TRUE(wait_value("value", "new"));
  EXPECT_TRUE(wait_state(app, SourceState::kOk));
}

TEST_F(FileWatchTest, B11_FileRecreatedAsAHardLinkReloads) {
  if (!program_available("ln")) {
    GTEST_SKIP() << "ln is not installed";
  }
  // `ln staged app.yaml` (or `cp -l`): the kernel reports only IN_CREATE for
  // the new name. The file is complete at once: no IN_CLOSE_WRITE follows.
  const fs::path app = dir.write("app.yaml", "value: old\n");
  ASSERT_TRUE(add_file(app).ok());
  fs::remove(app);
  ASSERT_TRUE(wait_state(app, SourceState::kMissing));
  TempDir staging;  // same filesystem
  const fs::path staged = staging.write("app.yaml", "value: linked\n");
  ASSERT_EQ(run_program({"ln", staged.string(), app.string()}), 0);
  EXPECT_TRUE(wait_value("value", "linked", 3s))
      << "a file recreated as a hard link was never reloaded; state "
      << source_state_name(state(app).value_or(SourceState::kOk));
}

// --- 12. Delete + recreate inside the debounce window
// -----------------------------------------------

TEST_F(FileWatchTest, B12_DeleteAndRecreateWithinTheDebounceIsASingleReload) {
  const fs::path app = dir.write("app.yaml", "value: old\n");
  ASSERT_TRUE(add_file(app, Debounce{500ms, 5000ms}).ok());
  add_sentinel(dir.path());
  record_publishes();

  const Counts before = counts(app);
  fs::remove(app);
  write_file(app, "value: new\n");
  ASSERT_TRUE(wait_value("value", "new"));
  EXPECT_TRUE(reloaded_exactly(app, before, 1));
  EXPECT_FALSE(has_event(events_for(app), SourceState::kMissing))
      << "reported deleted, then reloaded";
  for (const SnapshotPtr& s : published()) {
    EXPECT_TRUE(s->find("value") != nullptr)
        << "generation " << s->generation() << " was published without the file's content";
  }
}

TEST_F(FileWatchTest, B12_RmThenCpWithinTheDebounceIsASingleReload) {
  if (!program_available("rm") || !program_available("cp")) {
    GTEST_SKIP() << "rm or cp is not installed";
  }
  const fs::path app = dir.write("app.yaml", "value: old\n");
  ASSERT_TRUE(add_file(app, Debounce{1000ms, 5000ms}).ok());
  add_sentinel(dir.path());
  TempDir elsewhere;
  const fs::path src = elsewhere.write("app.yaml", "value: copied\n");

  const Counts before = counts(app);
  ASSERT_EQ(run_program({"rm", app.string()}), 0);
  ASSERT_EQ(run_program({"cp", src.string(), app.string()}), 0);
  ASSERT_TRUE(wait_value("value", "copied"));
  EXPECT_TRUE(reloaded_exactly(app, before, 1));
  EXPECT_FALSE(has_event(events_for(app), SourceState::kMissing));
}

// --- 13. Absent at start ------------------------------------------------------------------------

TEST_F(FileWatchTest, B13_OptionalFileAbsentAtStartIsLoadedWhenItAppears) {
  const fs::path app = dir / "app.yaml";
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kAuto, /*optional=*/true).ok());
  EXPECT_EQ(state(app), SourceState::kMissing);
  EXPECT_EQ(value("value"), std::nullopt);

  write_file(app, "value: appeared\n");
  ASSERT_TRUE(wait_value("value", "appeared"));
  EXPECT_TRUE(wait_state(app, SourceState::kOk));
}

TEST_F(FileWatchTest, B13_OptionalFileWhoseParentDirectoriesAreAbsentIsLoadedWhenTheyAppear) {
  const fs::path app = dir / "a" / "b" / "app.yaml";
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kAuto, /*optional=*/true).ok());
  EXPECT_EQ(state(app), SourceState::kMissing);

  // One level at a time, then the file by an atomic save.
  fs::create_directory(dir / "a");
  fs::create_directory(dir / "a" / "b");
  atomic_save(app, "value: deep\n");
  ASSERT_TRUE(wait_value("value", "deep"));
  EXPECT_TRUE(wait_state(app, SourceState::kOk));

  // And it keeps being watched there.
  write_in_place(app, "value: deeper\n");
  ASSERT_TRUE(wait_value("value", "deeper"));
}

TEST_F(FileWatchTest, B13_OptionalFileWhoseParentIsCreatedInOneGoIsLoaded) {
  const fs::path app = dir / "x" / "y" / "z" / "app.yaml";
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kAuto, /*optional=*/true).ok());
  TempDir staging;
  fs::create_directories(staging / "x" / "y" / "z");
  write_file(staging / "x" / "y" / "z" / "app.yaml", "value: moved-tree\n");
  fs::rename(staging / "x", dir / "x");  // the whole tree appears with one rename
  ASSERT_TRUE(wait_value("value", "moved-tree"));
}

TEST_F(FileWatchTest, B13_OptionalFileThatAppearsAsAHardLinkIsLoaded) {
  if (!program_available("ln")) {
    GTEST_SKIP() << "ln is not installed";
  }
  const fs::path app = dir / "app.yaml";
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kAuto, /*optional=*/true).ok());
  TempDir staging;
  const fs::path staged = staging.write("app.yaml", "value: linked\n");
  ASSERT_EQ(run_program({"ln", staged.string(), app.string()}), 0);
  EXPECT_TRUE(wait_value("value", "linked", 3s))
      << "an optional file that appeared as a hard link (IN_CREATE only) was never loaded";
}

TEST_F(FileWatchTest, B13_OptionalFileCreatedWithOTmpfileAndLinkatIsLoaded) {
  // open(dir, O_TMPFILE), write, linkat into place: an atomic create whose only
  // event in the directory is IN_CREATE (the close reports nothing there).
  const fs::path app = dir / "app.yaml";
  ASSERT_TRUE(add_file(app, kFastDebounce, WatchMode::kAuto, /*optional=*/true).ok());
  const int fd = ::open(dir.path().c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    GTEST_SKIP() << "O_TMPFILE is not supported here: " << std::strerror(errno);
  }
  const std::string content = "value: tmpfile\n";
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  ASSERT_EQ(::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, app.c_str(), AT_SYMLINK_FOLLOW), 0)
      << std::strerror(errno);
  ::close(fd);
  EXPECT_TRUE(wait_value("value", "tmpfile", 3s))
      << "an optional file created with O_TMPFILE + linkat was never loaded";
}

TEST_F(FileWatchTest, B13_RequiredFileAbsentAtStartIsAnError) {
  const Status st = add_file(dir / "absent.yaml");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound) << st.to_string();
  EXPECT_NE(st.to_string().find("absent.yaml"), std::string::npos) << st.to_string();
  EXPECT_FALSE(source_status(dir / "absent.yaml").has_value());
}

// --- 14. Parent directory deleted and recreated
// ---------------------------------------------------

TEST_F(FileWatchTest, B14_ParentDirectoryDeletedAndRecreatedWithTheFileReloads) {
  fs::create_directory(dir / "conf");
  const fs::path app = dir / "conf" / "app.yaml";
  write_file(app, "value: v1\n");
  ASSERT_TRUE(add_file(app).ok());

  for (int round = 2; round <= 3; ++round) {
    fs::remove_all(dir / "conf");
    ASSERT_TRUE(wait_state(app, SourceState::kMissing)) << "round " << round;
    EXPECT_EQ(value("value"), "v" + std::to_string(round - 1));
    fs::create_directory(dir / "conf");
    write_file(app, "value: v" + std::to_string(round) + "\n");
    ASSERT_TRUE(wait_value("value", "v" + std::to_string(round))) << "round " << round;
    EXPECT_TRUE(wait_state(app, SourceState::kOk));
  }
  // Watched again in the new directory.
  atomic_save(app, "value: v4\n");
  ASSERT_TRUE(wait_value("value", "v4"));
}

TEST_F(FileWatchTest, B14_GrandparentDeletedThenRecreatedStepByStepReloads) {
  const fs::path app = dir / "a" / "b" / "app.yaml";
  fs::create_directories(app.parent_path());
  write_file(app, "value: v1\n");
  ASSERT_TRUE(add_file(app).ok());

  fs::remove_all(dir / "a");
  ASSERT_TRUE(wait_state(app, SourceState::kMissing));
  fs::create_directory(dir / "a");
  fs::create_directory(dir / "a" / "b");
  write_file(app, "value: v2\n");
  ASSERT_TRUE(wait_value("value", "v2"));
  write_in_place(app, "value: v3\n");
  ASSERT_TRUE(wait_value("value", "v3"));
}

// --- 15. Parent directory renamed away, a new one moved in
// ------------------------------------------

TEST_F(FileWatchTest, B15_ParentRenamedAwayAndNewOneMovedInReloadsAndIgnoresTheOldOne) {
  fs::create_directory(dir / "conf");
  const fs::path app = dir / "conf" / "app.yaml";
  write_file(app, "value: old\n");
  ASSERT_TRUE(add_file(app).ok());
  TempDir other;
  add_sentinel(other.path());

  TempDir staging;
  fs::create_directory(staging / "conf");
  write_file(staging / "conf" / "app.yaml", "value: new\n");
  fs::rename(dir / "conf", dir / "conf.old");
  fs::rename(staging / "conf", dir / "conf");
  ASSERT_TRUE(wait_value("value", "new"));

  // The old directory (its inode may still be watched) is not the config any more.
  const Counts before = counts(app);
  write_in_place(dir / "conf.old" / "app.yaml", "value: stale\n");
  atomic_save(dir / "conf.old" / "app.yaml", "value: stale2\n");
  fs::remove(dir / "conf.old" / "app.yaml");
  EXPECT_TRUE(reloaded_exactly(app, before, 0));
  EXPECT_EQ(value("value"), "new");

  // The new directory is watched.
  atomic_save(app, "value: newer\n");
  ASSERT_TRUE(wait_value("value", "newer"));
  write_in_place(app, "value: newest\n");
  ASSERT_TRUE(wait_value("value", "newest"));
}

TEST_F(FileWatchTest, B15_GrandparentRenamedAwayAndNewOneMovedInReloads) {
  // A blue/green directory swap one level up: mv app app.old; mv app.new app.
  // The parent (app/conf) is not renamed itself, so its watch gets no
  // IN_MOVE_SELF; it silently follows app.old/conf.
  const fs::path app = dir / "app" / "conf" / "app.yaml";
  fs::create_directories(app.parent_path());
  write_file(app, "value: old\n");
  ASSERT_TRUE(add_file(app).ok());
  TempDir staging;
  fs::create_directories(staging / "app" / "conf");
  write_file(staging / "app" / "conf" / "app.yaml", "value: new\n");
  fs::rename(dir / "app", dir / "app.old");
  fs::rename(staging / "app", dir / "app");
  const bool swapped = wait_value("value", "new", 3s);
  // Whether or not the swap itself was seen, later edits of the new file must be.
  write_in_place(app, "value: edited\n");
  EXPECT_TRUE(wait_value("value", "edited", 3s))
      << "edits in the new directory are not seen (the watch follows app.old/conf)";
  EXPECT_TRUE(swapped) << "the swap of an ancestor directory was not seen";
  // Edits in the old tree are not the config.
  if (value("value") == "edited") {
    TempDir other;
    add_sentinel(other.path());
    const Counts before = counts(app);
    write_in_place(dir / "app.old" / "conf" / "app.yaml", "value: stale\n");
    EXPECT_TRUE(reloaded_exactly(app, before, 0));
  }
}

TEST_F(FileWatchTest, B15_RenamedAwayDirectoryKeepsNoKernelWatch) {
  std::shared_ptr<detail::InotifyWatcher> watcher = shared_inotify();
  ASSERT_TRUE(watcher);
  const std::size_t kernel0 = count_kernel_inotify_watches();
  const std::size_t watches0 = watcher->watch_count_for_test();
  fs::create_directory(dir / "conf");
  const fs::path app = dir / "conf" / "app.yaml";
  write_file(app, "value: old\n");
  ASSERT_TRUE(add_file(app).ok());

  TempDir staging;
  for (int i = 0; i < 3; ++i) {
    fs::create_directory(staging / "conf");
    write_file(staging / "conf" / "app.yaml", "value: v" + std::to_string(i) + "\n");
    fs::rename(dir / "conf", dir / ("conf.old" + std::to_string(i)));
    fs::rename(staging / "conf", dir / "conf");
    ASSERT_TRUE(wait_value("value", "v" + std::to_string(i)));
  }
  // The backend's own bookkeeping and the kernel's must agree.
  EXPECT_EQ(count_kernel_inotify_watches() - kernel0, watcher->watch_count_for_test() - watches0)
      << "kernel watches on directories renamed away were never removed (inotify_rm_watch)";
  ASSERT_TRUE(manager->remove_source(kConfig, layer_name(app)).ok());
  EXPECT_EQ(watcher->watch_count_for_test(), watches0);
  EXPECT_EQ(count_kernel_inotify_watches(), kernel0)
      << "kernel inotify watches left behind after the source was removed";
}

// --- 16. Releasing watches ----------------------------------------------------------------------

TEST_F(FileWatchTest, B16_DestroyingTheManagerStopsCallbacksAndReturnsWatchesAndFdsToBaseline) {
  const std::size_t fds0 = count_open_fds();
  const std::size_t inotify0 = count_inotify_fds();
  const std::size_t kernel0 = count_kernel_inotify_watches();
  fs::create_directory(dir / "one");
  fs::create_directory(dir / "two");
  const fs::path a = dir / "one" / "a.yaml";
  const fs::path b = dir / "one" / "b.yaml";
  const fs::path c = dir / "two" / "c.yaml";
  write_file(a, "a: 1\n");
  write_file(b, "b: 1\n");
  write_file(c, "c: 1\n");
  std::atomic<int> source_events{0};
  std::atomic<int> subscription_calls{0};
  {
    std::shared_ptr<detail::InotifyWatcher> watcher = shared_inotify();
    ASSERT_TRUE(watcher);
    const std::size_t watches0 = watcher->watch_count_for_test();
    {
      ManagerOptions o;
      o.on_source_event = [&](const SourceEvent&) { ++source_events; };
      ConfigManager other(std::move(o));
      ASSERT_TRUE(other.register_untyped("cfg").ok());
      for (const fs::path& p : {a, b, c}) {
        ASSERT_TRUE(other.add_source("cfg", make_file_source(options(p)).value()).ok());
      }
      Subscription sub = other
                             .subscribe("cfg", KeyPath(),
                                        [&](const SnapshotPtr&, const SnapshotPtr&,
                                            const ChangeSet&) { ++subscription_calls; })
                             .value();
      EXPECT_GT(watcher->watch_count_for_test(), watches0);
      EXPECT_EQ(count_inotify_fds(), 1u) << "one inotify instance for the process";
      write_file(c, "c: 2\n");
      ASSERT_TRUE(wait_until([&] {
        return scalar_text((*other.snapshot("cfg"))->find("c")) == std::optional<std::string>("2");
      }));
      ASSERT_TRUE(wait_until([&] { return subscription_calls.load() >= 1; }));
    }
    EXPECT_EQ(watcher->watch_count_for_test(), watches0) << "watches left behind";
    EXPECT_EQ(count_kernel_inotify_watches(), kernel0) << "kernel watches left behind";

    // After destruction, changes reach nobody (and crash nothing; ASan checks the rest).
    const int events_after = source_events.load();
    const int calls_after = subscription_calls.load();
    std::atomic<int> probe{0};
    WatchHandle h = watcher->watch(dir / "two" / "probe", [&] { ++probe; }).value();
    write_file(a, "a: 3\n");
    write_file(c, "c: 3\n");
    write_file(dir / "two" / "probe", "x");
    ASSERT_TRUE(wait_until([&] { return probe.load() >= 1; }));
    EXPECT_EQ(source_events.load(), events_after);
    EXPECT_EQ(subscription_calls.load(), calls_after);
  }
  EXPECT_EQ(count_inotify_fds(), inotify0) << "the inotify instance outlived its last user";
  EXPECT_EQ(count_open_fds(), fds0) << "descriptors left behind";
}

TEST_F(FileWatchTest, B16_RemoveSourceStopsWatchingItAndReleasesItsWatch) {
  std::shared_ptr<detail::InotifyWatcher> watcher = shared_inotify();
  ASSERT_TRUE(watcher);
  TempDir other;
  add_sentinel(other.path());
  const std::size_t watches0 = watcher->watch_count_for_test();
  const std::size_t kernel0 = count_kernel_inotify_watches();

  fs::create_directory(dir / "only");
  const fs::path app = dir / "only" / "app.yaml";
  write_file(app, "value: old\n");
  ASSERT_TRUE(add_file(app).ok());
  EXPECT_GT(watcher->watch_count_for_test(), watches0);

  ASSERT_TRUE(manager->remove_source(kConfig, layer_name(app)).ok());
  EXPECT_EQ(value("value"), std::nullopt) << "its layer goes with it";
  EXPECT_FALSE(source_status(app).has_value());
  EXPECT_EQ(watcher->watch_count_for_test(), watches0);
  EXPECT_EQ(count_kernel_inotify_watches(), kernel0);

  atomic_save(app, "value: new\n");
  ASSERT_TRUE(flush_sentinel());
  EXPECT_EQ(value("value"), std::nullopt) << "a removed source was reloaded";
}

TEST_F(FileWatchTest, B16_DestroyingASubscriptionStopsItsCallbacks) {
  const fs::path app = dir.write("app.yaml", "value: v0\n");
  ASSERT_TRUE(add_file(app).ok());
  std::atomic<int> first{0};
  std::atomic<int> second{0};
  std::atomic<bool> first_destroyed{false};
  std::atomic<int> late_calls{0};
  auto sub1 = manager->subscribe(kConfig, KeyPath(),
                                 [&](const SnapshotPtr&, const SnapshotPtr&, const ChangeSet&) {
                                   if (first_destroyed) {
                                     ++late_calls;
                                   }
                                   ++first;
                                 });
  auto sub2 = manager->subscribe(
      kConfig, KeyPath(),
      [&](const SnapshotPtr&, const SnapshotPtr&, const ChangeSet&) { ++second; });
  ASSERT_TRUE(sub1 && sub2);
  atomic_save(app, "value: v1\n");
  ASSERT_TRUE(wait_until([&] { return first.load() >= 1 && second.load() >= 1; }));

  *sub1 = Subscription();  // destroys the first subscription
  first_destroyed = true;
  const int first_after = first.load();
  for (int i = 2; i <= 3; ++i) {
    const int seen = second.load();
    atomic_save(app, "value: v" + std::to_string(i) + "\n");
    ASSERT_TRUE(wait_until([&] { return second.load() > seen; }));
  }
  EXPECT_EQ(first.load(), first_after);
  EXPECT_EQ(late_calls.load(), 0);
}

TEST_F(FileWatchTest, B16_DestroyingAWatchHandleStopsCallbacksAndReleasesTheWatch) {
  std::shared_ptr<detail::InotifyWatcher> watcher = shared_inotify();
  ASSERT_TRUE(watcher);
  fs::create_directory(dir / "w");
  fs::create_directory(dir / "s");
  const std::size_t watches0 = watcher->watch_count_for_test();
  std::atomic<int> calls{0};
  std::atomic<bool> cancelled{false};
  std::atomic<int> after_cancel{0};
  std::atomic<int> sentinel_calls{0};
  WatchHandle sentinel = watcher->watch(dir / "s" / "sentinel", [&] { ++sentinel_calls; }).value();
  const std::size_t watches1 = watcher->watch_count_for_test();
  {
    WatchHandle h = watcher
                        ->watch(dir / "w" / "f",
                                [&] {
                                  if (cancelled) {
                                    ++after_cancel;
                                  }
                                  ++calls;
                                })
                        .value();
    EXPECT_GT(watcher->watch_count_for_test(), watches1);
    write_file(dir / "w" / "f", "1");
    ASSERT_TRUE(wait_until([&] { return calls.load() >= 1; }));
  }  // destroyed: no call is running now and none will start
  cancelled = true;
  EXPECT_EQ(watcher->watch_count_for_test(), watches1);
  const int calls_after = calls.load();
  write_file(dir / "w" / "f", "2");
  atomic_save(dir / "w" / "f", "3");
  write_file(dir / "s" / "sentinel", "x");
  ASSERT_TRUE(wait_until([&] { return sentinel_calls.load() >= 1; }));
  EXPECT_EQ(calls.load(), calls_after);
  EXPECT_EQ(after_cancel.load(), 0);
  sentinel.cancel();
  EXPECT_FALSE(sentinel.active());
  EXPECT_EQ(watcher->watch_count_for_test(), watches0);
}

}  // namespace
}  // namespace liveconf::testing
