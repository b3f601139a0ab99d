// Debounce and retry backoff measured on a ManualClock: the tests move time
// by hand, so "not before the quiet period ends" and "exactly when it ends"
// are checked without sleeping and without racing a real clock.
#include <atomic>
#include <chrono>
#include <mutex>

#include <gtest/gtest.h>

#include "liveconf/clock.hpp"
#include "liveconf/store.hpp"

#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using std::chrono::milliseconds;
using testing::wait_until;

// A source whose changes and failures the test makes by hand.
class HandSource final : public Source {
 public:
  struct Control {
    std::mutex mu;
    std::function<void()> signal;
    int value = 1;
    std::optional<Error> fail;
    std::atomic<int> loads{0};
    void change(int v) {
      std::function<void()> s;
      {
        std::lock_guard<std::mutex> lk(mu);
        value = v;
        s = signal;
      }
      s();
    }
  };
  HandSource(std::shared_ptr<Control> control, Debounce debounce)
      : control_(std::move(control)), debounce_(debounce) {}
  const std::string& name() const noexcept override { return name_; }
  Debounce debounce() const noexcept override { return debounce_; }
  Result<SourceLoad> load() override {
    ++control_->loads;
    std::lock_guard<std::mutex> lk(control_->mu);
    if (control_->fail) {
      return *control_->fail;
    }
    Value v = Value::object();
    v.set("x", Value(control_->value));
    SourceLoad out;
    out.layers.push_back(Layer{name_, 10, v, std::to_string(control_->value)});
    return out;
  }
  Result<WatchHandle> watch(std::function<void()> changed) override {
    std::lock_guard<std::mutex> lk(control_->mu);
    control_->signal = std::move(changed);
    return WatchHandle([control = control_] {
      std::lock_guard<std::mutex> inner(control->mu);
      control->signal = [] {};
    });
  }

 private:
  std::shared_ptr<Control> control_;
  Debounce debounce_;
  std::string name_ = "hand";
};

class ClockDrivenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ManagerOptions options;
    options.clock = clock;
    options.log = [](LogLevel, std::string_view) {};
    manager = std::make_unique<ConfigManager>(options);
    ASSERT_TRUE(manager->register_untyped("c").ok());
    ASSERT_TRUE(manager->register_untyped("barrier").ok());
    ASSERT_TRUE(manager
                    ->add_source("c", std::make_unique<HandSource>(
                                          control, Debounce{milliseconds(200), milliseconds(1000)}))
                    .ok());
    ASSERT_EQ(control->loads.load(), 1);
  }

  // Returns once the update thread has handled everything queued before.
  void barrier() { ASSERT_TRUE(manager->update("barrier", Value::object()).ok()); }

  std::int64_t served() { return manager->snapshot("c").value()->tree().find("x")->as_int(); }

  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::shared_ptr<HandSource::Control> control = std::make_shared<HandSource::Control>();
  std::unique_ptr<ConfigManager> manager;
};

TEST_F(ClockDrivenTest, ReloadsExactlyWhenTheQuietPeriodEndsOnTheManagersClock) {
  control->change(2);
  barrier();
  clock->advance(milliseconds(199));
  barrier();
  EXPECT_EQ(control->loads.load(), 1) << "reloaded before the quiet period ended";
  EXPECT_EQ(served(), 1);
  clock->advance(milliseconds(1));
  ASSERT_TRUE(wait_until([&] { return served() == 2; })) << "not reloaded when it ended";
  EXPECT_EQ(control->loads.load(), 2);
}

TEST_F(ClockDrivenTest, EachSignalRestartsTheQuietPeriodUntilMaxWait) {
  for (int i = 0; i < 6; ++i) {  // a signal every 150 ms: never 200 ms of quiet
    control->change(10 + i);
    barrier();
    clock->advance(milliseconds(150));
    barrier();
    EXPECT_EQ(control->loads.load(), 1) << "after " << (i + 1) * 150 << " ms";
  }
  control->change(20);
  barrier();
  clock->advance(milliseconds(100));  // 1000 ms after the first signal: max_wait
  ASSERT_TRUE(wait_until([&] { return served() == 20; }));
  EXPECT_EQ(control->loads.load(), 2) << "one reload for the whole burst";
}

TEST_F(ClockDrivenTest, TransientFailuresRetryWithBackoffOnTheClock) {
  {
    std::lock_guard<std::mutex> lk(control->mu);
    control->fail = Error(ErrorCode::kUnavailable, "EIO");
  }
  control->change(3);
  barrier();
  clock->advance(milliseconds(200));
  ASSERT_TRUE(wait_until([&] { return control->loads.load() == 2; }));
  barrier();
  // First retry after backoff(quiet = 200 ms, attempt 0) = 200 ms, then 400 ms.
  clock->advance(milliseconds(199));
  barrier();
  EXPECT_EQ(control->loads.load(), 2) << "retried before its backoff";
  clock->advance(milliseconds(1));
  ASSERT_TRUE(wait_until([&] { return control->loads.load() == 3; }));
  barrier();
  clock->advance(milliseconds(399));
  barrier();
  EXPECT_EQ(control->loads.load(), 3) << "the second retry waits twice as long";
  {
    std::lock_guard<std::mutex> lk(control->mu);
    control->fail.reset();
  }
  clock->advance(milliseconds(1));
  ASSERT_TRUE(wait_until([&] { return served() == 3; }));
  EXPECT_EQ(manager->status("c").value().sources.at(0).state, SourceState::kOk);
}

}  // namespace
}  // namespace liveconf
