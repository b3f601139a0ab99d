// The polling backend on a ManualClock: with an hour-long interval, a change
// is only ever seen because the test moved the clock, never by waiting.
#include "watch/poll/poll_watcher.hpp"

#include <atomic>
#include <chrono>

#include <gtest/gtest.h>

#include "liveconf/clock.hpp"

#include "testutil/temp_dir.hpp"

namespace liveconf::detail {
namespace {

using liveconf::testing::TempDir;
using liveconf::testing::wait_until;
using liveconf::testing::write_file;
using std::chrono::hours;

class PollWatcherTest : public ::testing::Test {
 protected:
  std::shared_ptr<PollWatcher> make() {
    Result<std::shared_ptr<PollWatcher>> w =
        PollWatcher::create(WatcherOptions{.poll_interval = hours(1), .clock = clock});
    EXPECT_TRUE(w);
    return std::move(*w);
  }
  // Moves the clock an interval at a time until `done` (the poll thread may
  // not be waiting yet when the first advance comes).
  bool advance_until(const std::function<bool()>& done) {
    return wait_until([&] {
      clock->advance(hours(1));
      return done();
    });
  }

  static void save(const std::filesystem::path& file, std::string_view content) {
    const std::filesystem::path aside = file.string() + ".new";
    write_file(aside, content);
    std::filesystem::rename(aside, file);
  }

  TempDir dir;
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
};

TEST_F(PollWatcherTest, AChangeIsSeenWhenTheClockReachesTheNextPoll) {
  const std::filesystem::path file = dir.write("a.yaml", "a: 1\n");
  std::shared_ptr<PollWatcher> w = make();
  std::atomic<int> calls{0};
  WatchHandle h = w->watch(file, [&] { ++calls; }).value();
  // Whole saves (write aside, rename over): no poll sees a half-written file.
  save(file, "a: 2222\n");
  EXPECT_TRUE(advance_until([&] { return calls.load() == 1; }));
  for (int i = 0; i < 5; ++i) {
    clock->advance(hours(1));  // unchanged content: polls, no calls
  }
  save(file, "a: 3\n");
  EXPECT_TRUE(advance_until([&] { return calls.load() == 2; }));
}

TEST_F(PollWatcherTest, StopIsIdempotentAndEndsTheCalls) {
  const std::filesystem::path file = dir.write("a.yaml", "a: 1\n");
  std::shared_ptr<PollWatcher> w = make();
  std::atomic<int> calls{0};
  WatchHandle h = w->watch(file, [&] { ++calls; }).value();
  w->stop();
  w->stop();
  write_file(file, "a: 2222\n");
  for (int i = 0; i < 5; ++i) {
    clock->advance(hours(1));
  }
  EXPECT_EQ(calls.load(), 0);
  Result<WatchHandle> late = w->watch(file, [] {});
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code(), ErrorCode::kCancelled);
}

TEST_F(PollWatcherTest, StopFromItsOwnCallbackReturns) {
  const std::filesystem::path file = dir.write("a.yaml", "a: 1\n");
  std::shared_ptr<PollWatcher> w = make();
  std::atomic<bool> stopped{false};
  WatchHandle h = w->watch(file, [&] {
                     w->stop();  // on the poll thread: detaches instead of joining itself
                     stopped = true;
                   }).value();
  write_file(file, "a: 2222\n");
  EXPECT_TRUE(advance_until([&] { return stopped.load(); }));
}

}  // namespace
}  // namespace liveconf::detail
