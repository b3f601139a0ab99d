// Debounce and retry backoff measured on a ManualClock: the tests move time
// by hand, so "not before the quiet period ends" and "exactly when it ends"
// are checked without sleeping and without racing a real clock.
#include <atomic>
#include <chrono>
#include <mutex>

#include <gtest/gtest.h>

#include "liveconf/clock.hpp"
#include "liveconf/memory_source.hpp"
#include "liveconf/source.hpp"
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
  // status() is refreshed after the publish, at the end of the same round.
  EXPECT_TRUE(wait_until(
      [&] { return manager->status("c").value().sources.at(0).state == SourceState::kOk; }));
}

// A source whose writer the test plays by hand: busy() says what the test set,
// and the watch callback is the test's to call.
class WriterSource final : public Source {
 public:
  [[nodiscard]] const std::string& name() const noexcept override { return name_; }
  [[nodiscard]] Debounce debounce() const noexcept override {
    return Debounce{milliseconds(0), milliseconds(5000)};
  }
  [[nodiscard]] Result<SourceLoad> load() override {
    SourceLoad out;
    out.layers.push_back(Layer{name_, 10, with_x(x.load()), std::to_string(x.load())});
    loads.fetch_add(1);
    return out;
  }
  [[nodiscard]] Result<WatchHandle> watch(std::function<void()> changed) override {
    std::lock_guard lk(mu);
    changed_ = std::move(changed);
    return WatchHandle([this] {
      std::lock_guard lk2(mu);
      changed_ = nullptr;
    });
  }
  [[nodiscard]] bool busy() const override {
    busy_calls.fetch_add(1);
    return writing.load();
  }
  void signal() {
    std::lock_guard lk(mu);
    if (changed_) {
      changed_();
    }
  }

  std::atomic<std::int64_t> x{1};
  std::atomic<bool> writing{false};
  std::atomic<int> loads{0};
  mutable std::atomic<int> busy_calls{0};

 private:
  std::string name_ = "writer";
  std::mutex mu;
  std::function<void()> changed_;
};

TEST_F(ClockDrivenTest, AWritersCloseEndsTheHoldAtOnceNotAtTheNextRecheck) {
  // An atomic save whose temp file is created inside a watched conf.d
  // directory: IN_CREATE makes the source busy, the close and the rename
  // signal again. That second signal must end the hold without waiting for
  // the re-check timer (10 ms, which this clock never reaches).
  auto owned = std::make_unique<WriterSource>();
  WriterSource* writer = owned.get();
  ASSERT_TRUE(manager->register_untyped("w").ok());
  ASSERT_TRUE(manager->add_source("w", std::move(owned)).ok());
  ASSERT_EQ(writer->loads.load(), 1);

  writer->writing = true;
  writer->x = 2;
  writer->signal();  // IN_CREATE of the temp file
  ASSERT_TRUE(wait_until([&] { return writer->busy_calls.load() >= 1; })) << "never held";
  barrier();
  EXPECT_EQ(writer->loads.load(), 1) << "read while the writer was still writing";

  writer->writing = false;
  writer->signal();  // IN_CLOSE_WRITE, IN_MOVED_TO
  ASSERT_TRUE(wait_until([&] {
    return manager->snapshot("w").value()->tree().find("x")->as_int() == 2;
  })) << "the hold waited for its re-check timer";
  EXPECT_EQ(writer->loads.load(), 2);

  // A later change with no writer reloads as usual, and the stale re-check
  // timer, when the clock reaches it, reloads nothing more.
  clock->advance(milliseconds(20));
  barrier();
  EXPECT_EQ(writer->loads.load(), 2) << "the old re-check timer reloaded again";
}

TEST_F(ClockDrivenTest, AnEarlyLookThatFindsTheWriterBusyKeepsHolding) {
  auto owned = std::make_unique<WriterSource>();
  WriterSource* writer = owned.get();
  ASSERT_TRUE(manager->register_untyped("w").ok());
  ASSERT_TRUE(manager->add_source("w", std::move(owned)).ok());

  writer->writing = true;
  writer->x = 3;
  writer->signal();
  ASSERT_TRUE(wait_until([&] { return writer->busy_calls.load() >= 1; }));
  writer->signal();  // another write by the same writer: still busy
  ASSERT_TRUE(wait_until([&] { return writer->busy_calls.load() >= 2; }));
  barrier();
  EXPECT_EQ(writer->loads.load(), 1);
  // The re-check timer still runs and, the writer done, reloads.
  writer->writing = false;
  clock->advance(milliseconds(10));
  ASSERT_TRUE(wait_until([&] { return writer->loads.load() == 2; }));
  ASSERT_TRUE(
      wait_until([&] { return manager->snapshot("w").value()->tree().find("x")->as_int() == 3; }));
}

}  // namespace
}  // namespace liveconf
