#include "liveconf/fake_watcher.hpp"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "testutil/stop_contract.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using testing::wait_until;

TEST(FakeWatcherTest, FireCallsTheWatchesOfThatPathOnly) {
  FakeWatcher watcher;
  int a = 0;
  int b = 0;
  WatchHandle ha = watcher.watch("/etc/a.yaml", [&] { ++a; }).value();
  WatchHandle hb = watcher.watch("/etc/b.yaml", [&] { ++b; }).value();
  EXPECT_EQ(watcher.fire("/etc/a.yaml"), 1U);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 0);
  EXPECT_EQ(watcher.fire_all(), 2U);
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(watcher.fire("/etc/none.yaml"), 0U);
}

TEST(FakeWatcherTest, ACancelledWatchIsNotCalledAgain) {
  FakeWatcher watcher;
  int calls = 0;
  WatchHandle h = watcher.watch("/x", [&] { ++calls; }).value();
  EXPECT_EQ(watcher.watch_count("/x"), 1U);
  h.cancel();
  EXPECT_EQ(watcher.watch_count("/x"), 0U);
  EXPECT_EQ(watcher.fire("/x"), 0U);
  EXPECT_EQ(calls, 0);
}

TEST(FakeWatcherTest, ACallbackMayCancelItsOwnWatch) {
  FakeWatcher watcher;
  int calls = 0;
  WatchHandle h;
  h = watcher
          .watch("/x",
                 [&] {
                   ++calls;
                   h.cancel();  // from inside: returns at once
                 })
          .value();
  EXPECT_EQ(watcher.fire("/x"), 1U);
  EXPECT_EQ(watcher.fire("/x"), 0U);
  EXPECT_EQ(calls, 1);
}

TEST(FakeWatcherTest, CancelWaitsForACallbackRunningOnAnotherThread) {
  FakeWatcher watcher;
  WatchHandle h;
  testing::expect_cancel_waits_for_running_callback(
      [&](std::function<void()> callback) { h = watcher.watch("/x", std::move(callback)).value(); },
      [&] { (void)watcher.fire("/x"); }, [&] { h.cancel(); });
}

TEST(FakeWatcherTest, BusyAndFailuresAreScripted) {
  FakeWatcher watcher;
  EXPECT_FALSE(watcher.busy("/x"));
  watcher.set_busy("/x", true);
  EXPECT_TRUE(watcher.busy("/x"));
  EXPECT_FALSE(watcher.busy("/y"));
  watcher.set_busy("/x", false);
  EXPECT_FALSE(watcher.busy("/x"));

  watcher.fail_watches(Error(ErrorCode::kIo, "no space"));
  Result<WatchHandle> h = watcher.watch("/x", [] {});
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code(), ErrorCode::kIo);
  watcher.fail_watches(std::nullopt);
  EXPECT_TRUE(watcher.watch("/x", [] {}));
}

}  // namespace
}  // namespace liveconf
