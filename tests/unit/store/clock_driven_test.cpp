// Debounce and retry backoff measured on a ManualClock: the tests move time
// by hand, so "not before the quiet period ends" and "exactly when it ends"
// are checked without sleeping and without racing a real clock.
#include <atomic>
#include <chrono>
#include <mutex>

#include <gtest/gtest.h>

#include "liveconf/clock.hpp"
#include "liveconf/memory_source.hpp"
#include "liveconf/store.hpp"

#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using std::chrono::milliseconds;
using testing::wait_until;

Value with_x(std::int64_t x) {
  Value v = Value::object();
  v.set("x", Value(x));
  return v;
}

class ClockDrivenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ManagerOptions options;
    options.clock = clock;
    options.log = [](LogLevel, std::string_view) {};
    manager = std::make_unique<ConfigManager>(options);
    ASSERT_TRUE(manager->register_untyped("c").ok());
    ASSERT_TRUE(manager->register_untyped("barrier").ok());
    // The manager owns the source; the test feeds it through its handle.
    auto source = std::make_unique<MemorySource>(
        MemorySourceOptions{.name = "hand",
                            .priority = 10,
                            .value = with_x(1),
                            .debounce = Debounce{milliseconds(200), milliseconds(1000)}});
    control = source->share();
    ASSERT_TRUE(manager->add_source("c", std::move(source)).ok());
    ASSERT_EQ(control.loads(), 1U);
  }

  // Returns once the update thread has handled everything queued before.
  void barrier() { ASSERT_TRUE(manager->update("barrier", Value::object()).ok()); }

  std::int64_t served() { return manager->snapshot("c").value()->tree().find("x")->as_int(); }

  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  MemorySource::Handle control{nullptr};
  std::unique_ptr<ConfigManager> manager;
};

TEST_F(ClockDrivenTest, ReloadsExactlyWhenTheQuietPeriodEndsOnTheManagersClock) {
  control.set(with_x(2));
  barrier();
  clock->advance(milliseconds(199));
  barrier();
  EXPECT_EQ(control.loads(), 1U) << "reloaded before the quiet period ended";
  EXPECT_EQ(served(), 1);
  clock->advance(milliseconds(1));
  ASSERT_TRUE(wait_until([&] { return served() == 2; })) << "not reloaded when it ended";
  EXPECT_EQ(control.loads(), 2U);
}

TEST_F(ClockDrivenTest, EachSignalRestartsTheQuietPeriodUntilMaxWait) {
  for (int i = 0; i < 6; ++i) {  // a signal every 150 ms: never 200 ms of quiet
    control.set(with_x(10 + i));
    barrier();
    clock->advance(milliseconds(150));
    barrier();
    EXPECT_EQ(control.loads(), 1U) << "after " << (i + 1) * 150 << " ms";
  }
  control.set(with_x(20));
  barrier();
  clock->advance(milliseconds(100));  // 1000 ms after the first signal: max_wait
  ASSERT_TRUE(wait_until([&] { return served() == 20; }));
  EXPECT_EQ(control.loads(), 2U) << "one reload for the whole burst";
}

TEST_F(ClockDrivenTest, TransientFailuresRetryWithBackoffOnTheClock) {
  control.set_failure(Error(ErrorCode::kUnavailable, "EIO"));
  control.set(with_x(3));
  barrier();
  clock->advance(milliseconds(200));
  ASSERT_TRUE(wait_until([&] { return control.loads() == 2U; }));
  barrier();
  // First retry after backoff(quiet = 200 ms, attempt 0) = 200 ms, then 400 ms.
  clock->advance(milliseconds(199));
  barrier();
  EXPECT_EQ(control.loads(), 2U) << "retried before its backoff";
  clock->advance(milliseconds(1));
  ASSERT_TRUE(wait_until([&] { return control.loads() == 3U; }));
  barrier();
  clock->advance(milliseconds(399));
  barrier();
  EXPECT_EQ(control.loads(), 3U) << "the second retry waits twice as long";
  control.set_failure(std::nullopt);
  clock->advance(milliseconds(1));
  ASSERT_TRUE(wait_until([&] { return served() == 3; }));
  EXPECT_EQ(manager->status("c").value().sources.at(0).state, SourceState::kOk);
}

}  // namespace
}  // namespace liveconf
