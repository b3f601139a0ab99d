// Config<T>: the typed handle register_config<T>() returns, and the delivery
// contract subscribe() documents (convergence on the latest, A→B→A silent).
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/store.hpp"

#include "testutil/configs.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using testing::ServiceConfig;
using testing::wait_until;
using testing::WatchedConfig;

// A handle names its type: one for another type is a different type, so a
// mismatch is a compile error rather than a kType at run time.
static_assert(!std::is_convertible_v<Config<WatchedConfig>, Config<ServiceConfig>>);
static_assert(std::is_copy_constructible_v<Config<WatchedConfig>>);

ManagerOptions quiet() {
  ManagerOptions o;
  o.log = [](LogLevel, std::string_view) {};
  return o;
}

Value patch(const char* key, Value v) {
  Value out = Value::object();
  out.set(key, std::move(v));
  return out;
}

TEST(TypedHandleTest, GetUpdateExplainWithoutRepeatingNameOrType) {
  ConfigManager manager(quiet());
  Result<Config<WatchedConfig>> registered = manager.register_config<WatchedConfig>("w");
  ASSERT_TRUE(registered.ok()) << registered.error().to_string();
  const Config<WatchedConfig> w = *registered;
  EXPECT_EQ(w.name(), "w");
  EXPECT_EQ(&w.manager(), &manager);
  EXPECT_EQ(w.get()->timeout, 30);

  ASSERT_TRUE(w.update(patch("timeout", Value(45))).ok());
  EXPECT_EQ(w.get()->timeout, 45);
  EXPECT_EQ(manager.get<WatchedConfig>("w").value()->timeout, 45) << "the same config";

  Explanation why = w.explain(KeyPath("timeout"));
  ASSERT_TRUE(why.effective.has_value());
  EXPECT_EQ(why.effective->as_int(), 45);
  EXPECT_EQ(w.snapshot()->generation(), manager.snapshot("w").value()->generation());
  EXPECT_TRUE(w.status().ok());

  Status refused = w.update(patch("timeout", Value(-1)));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(w.get()->timeout, 45) << "the last good config keeps serving";
}

TEST(TypedHandleTest, ReaderFollowsPublishes) {
  ConfigManager manager(quiet());
  Config<WatchedConfig> w = manager.register_config<WatchedConfig>("w").value();
  Reader<WatchedConfig> reader = w.reader();
  EXPECT_EQ(reader->timeout, 30);
  ASSERT_TRUE(w.update(patch("timeout", Value(7))).ok());
  EXPECT_EQ(reader.get().timeout, 7);
}

TEST(TypedHandleTest, SubscribeGetsTheBoundObjects) {
  ConfigManager manager(quiet());
  Config<WatchedConfig> w = manager.register_config<WatchedConfig>("w").value();
  std::mutex mu;
  std::vector<std::pair<int, int>> seen;
  Result<Subscription> sub = w.subscribe(
      KeyPath("timeout"),
      [&](const WatchedConfig& before, const WatchedConfig& after, const ChangeSet& changes) {
        EXPECT_EQ(changes.size(), 1u);
        std::lock_guard<std::mutex> lk(mu);
        seen.emplace_back(before.timeout, after.timeout);
      });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(w.update(patch("enabled", Value(false))).ok());  // outside the prefix
  ASSERT_TRUE(w.update(patch("timeout", Value(60))).ok());
  ASSERT_TRUE(w.update(patch("timeout", Value(61))).ok());
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard<std::mutex> lk(mu);
    return !seen.empty() && seen.back().second == 61;
  }));
  std::lock_guard<std::mutex> lk(mu);
  // 30→60 and 60→61 may arrive as one call (30→61); "enabled" never does.
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().first, 30);
  for (std::size_t i = 1; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].first, seen[i - 1].second) << "old is the previous call's new";
  }
}

TEST(TypedHandleTest, LookupByNameChecksTheType) {
  ConfigManager manager(quiet());
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
  EXPECT_TRUE(manager.config<WatchedConfig>("w").ok());
  Result<Config<ServiceConfig>> wrong = manager.config<ServiceConfig>("w");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), ErrorCode::kType);
  EXPECT_EQ(manager.config<WatchedConfig>("nope").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(manager.register_config<WatchedConfig>("w").error().code(), ErrorCode::kValidation)
      << "registering a name twice is refused";
}

TEST(TypedHandleTest, ReadsOutliveUnregisterOtherCallsReportNotFound) {
  ConfigManager manager(quiet());
  Config<WatchedConfig> w = manager.register_config<WatchedConfig>("w").value();
  ASSERT_TRUE(w.update(patch("timeout", Value(9))).ok());
  ASSERT_TRUE(manager.unregister("w").ok());
  EXPECT_EQ(w.get()->timeout, 9) << "reads keep the last snapshot";
  Status st = w.update(patch("timeout", Value(10)));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(w.reload().error().code(), ErrorCode::kNotFound);
}

// The documented delivery: publishes that cancel out before the subscriber
// is called (A→B→A) make no call; the subscriber still ends on the latest.
TEST(TypedHandleTest, ChangesThatCancelOutWhileACallRunsAreNotDelivered) {
  ConfigManager manager(quiet());
  Config<WatchedConfig> w = manager.register_config<WatchedConfig>("w").value();
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> calls{0};
  std::vector<int> after_values;
  Result<Subscription> sub = w.subscribe(
      KeyPath(""), [&](const WatchedConfig&, const WatchedConfig& after, const ChangeSet&) {
        std::unique_lock<std::mutex> lk(mu);
        after_values.push_back(after.timeout);
        ++calls;
        cv.wait(lk, [&] { return release; });  // hold the dispatch thread
      });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(w.update(patch("timeout", Value(1))).ok());  // call 1 starts, blocks
  ASSERT_TRUE(wait_until([&] { return calls.load() == 1; }));
  ASSERT_TRUE(w.update(patch("timeout", Value(2))).ok());  // B
  ASSERT_TRUE(w.update(patch("timeout", Value(1))).ok());  // back to A
  {
    std::lock_guard<std::mutex> lk(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(w.update(patch("timeout", Value(3))).ok());  // a real change to wait for
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard<std::mutex> lk(mu);
    return !after_values.empty() && after_values.back() == 3;
  }));
  std::lock_guard<std::mutex> lk(mu);
  EXPECT_EQ(after_values, (std::vector<int>{1, 3})) << "A→B→A during a call is no change";
}

}  // namespace
}  // namespace liveconf
