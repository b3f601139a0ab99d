#include "liveconf/memory_source.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "liveconf/store.hpp"

#include "testutil/stop_contract.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using testing::wait_until;

Value with_port(std::int64_t port) {
  Value v = Value::object();
  v.set("port", Value(port));
  return v;
}

TEST(MemorySourceTest, LoadsItsValueAsOneLayerAndMissingWithout) {
  MemorySource source(MemorySourceOptions{.name = "mem", .priority = 7, .value = with_port(1)});
  Result<SourceLoad> first = source.load();
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_EQ(first->layers.size(), 1U);
  EXPECT_EQ(first->layers[0].name, "mem");
  EXPECT_EQ(first->layers[0].priority, 7);
  EXPECT_EQ(first->layers[0].data.find("port")->as_int(), 1);

  source.set(with_port(2));
  Result<SourceLoad> second = source.load();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->layers.at(0).data.find("port")->as_int(), 2);
  EXPECT_NE(second->layers[0].version, first->layers[0].version);

  source.clear();
  Result<SourceLoad> missing = source.load();
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->state, SourceState::kMissing);
  EXPECT_TRUE(missing->layers.empty());
  EXPECT_EQ(source.share().loads(), 3U);
}

TEST(MemorySourceTest, AFailureIsReturnedUntilCleared) {
  MemorySource source;
  source.set_failure(Error(ErrorCode::kUnavailable, "down"));
  Result<SourceLoad> failed = source.load();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), ErrorCode::kUnavailable);
  source.set_failure(std::nullopt);
  EXPECT_TRUE(source.load());
}

TEST(MemorySourceTest, SetSignalsTheWatchUntilItsHandleIsCancelled) {
  MemorySource source;
  int signals = 0;
  Result<WatchHandle> h = source.watch([&] { ++signals; });
  ASSERT_TRUE(h);
  EXPECT_TRUE(source.share().watched());
  source.set(with_port(1));
  source.share().signal();
  EXPECT_EQ(signals, 2);
  source.set_failure(Error(ErrorCode::kIo, "x"));
  EXPECT_EQ(signals, 2) << "set_failure does not signal";
  h->cancel();
  EXPECT_FALSE(source.share().watched());
  source.set(with_port(2));
  EXPECT_EQ(signals, 2);
}

TEST(MemorySourceTest, CancelWaitsForASignalRunningOnAnotherThread) {
  MemorySource source;
  WatchHandle h;
  testing::expect_cancel_waits_for_running_callback(
      [&](std::function<void()> callback) { h = source.watch(std::move(callback)).value(); },
      [&] { source.set(with_port(1)); }, [&] { h.cancel(); });
}

TEST(MemorySourceTest, TheSharedHandleFeedsASourceTheManagerOwns) {
  ConfigManager manager;
  ASSERT_TRUE(manager.register_untyped("app").ok());
  auto source = std::make_unique<MemorySource>(MemorySourceOptions{.value = with_port(80)});
  MemorySource::Handle handle = source->share();
  ASSERT_TRUE(manager.add_source("app", std::move(source)).ok());
  auto port = [&] {
    const SnapshotPtr snap = manager.snapshot("app").value();  // one snapshot per read
    const Value* v = snap->tree().find("port");
    return v == nullptr ? -1 : v->as_int();
  };
  EXPECT_EQ(port(), 80);
  handle.set(with_port(8080));
  EXPECT_TRUE(wait_until([&] { return port() == 8080; }));
  ASSERT_TRUE(manager.unregister("app").ok());
  handle.set(with_port(1));  // the source is gone: changes nothing
  EXPECT_EQ(handle.value()->find("port")->as_int(), 8080);
}

}  // namespace
}  // namespace liveconf
