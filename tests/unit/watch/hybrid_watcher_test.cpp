// The hybrid backend with a FakeWatcher as its inotify half: what each half
// contributes is scripted, the slow poll runs on a ManualClock.
#include "watch/hybrid/hybrid_watcher.hpp"

#include <atomic>
#include <chrono>

#include <gtest/gtest.h>

#include "liveconf/clock.hpp"
#include "liveconf/fake_watcher.hpp"

#include "testutil/temp_dir.hpp"

namespace liveconf::detail {
namespace {

using liveconf::testing::TempDir;
using liveconf::testing::wait_until;
using liveconf::testing::write_file;
using std::chrono::seconds;

TEST(HybridWatcherTest, EitherHalfSignalsTheWatch) {
  TempDir dir;
  const std::filesystem::path file = dir.write("a.yaml", "a: 1\n");
  auto fast = std::make_shared<FakeWatcher>();
  auto clock = std::make_shared<ManualClock>();
  std::shared_ptr<HybridWatcher> hybrid =
      HybridWatcher::over(fast, WatcherOptions{.hybrid_poll_interval = seconds(5), .clock = clock});
  EXPECT_EQ(hybrid->name(), "hybrid");
  std::atomic<int> calls{0};
  WatchHandle h = hybrid->watch(file, [&] { ++calls; }).value();

  EXPECT_EQ(fast->fire(file), 1U);  // the inotify half
  EXPECT_EQ(calls.load(), 1);

  // The slow poll: a change inotify never reported (another machine's write).
  write_file(file, "a: 22\n");
  EXPECT_TRUE(wait_until([&] {
    clock->advance(seconds(5));
    return calls.load() >= 2;
  }));

  fast->set_busy(file, true);
  EXPECT_TRUE(hybrid->busy(file));

  h.cancel();
  EXPECT_EQ(fast->watch_count(file), 0U) << "the inotify half's watch was not cancelled";
  const int before = calls.load();
  EXPECT_EQ(fast->fire(file), 0U);
  EXPECT_EQ(calls.load(), before);
}

TEST(HybridWatcherTest, StopIsIdempotentAndWatchesStillCancel) {
  auto fast = std::make_shared<FakeWatcher>();
  std::shared_ptr<HybridWatcher> hybrid = HybridWatcher::over(fast, WatcherOptions{});
  WatchHandle h = hybrid->watch("/nonexistent/a.yaml", [] {}).value();
  hybrid->stop();
  hybrid->stop();
  h.cancel();
  EXPECT_EQ(fast->watch_count("/nonexistent/a.yaml"), 0U);
}

}  // namespace
}  // namespace liveconf::detail
