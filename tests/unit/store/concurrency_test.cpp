// Readers, writers and subscribers at once; run under TSan in CI.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "liveconf/store.hpp"

#include "testutil/configs.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using testing::WatchedConfig;

Value consistent_update(int n) {
  // timeout and enabled always change together: a torn read would see them disagree.
  Value v = Value::object();
  v["timeout"] = n;
  v["enabled"] = n % 2 == 0;
  v["endpoints"] = Value(Value::Array{std::to_string(n)});
  return v;
}

bool consistent(const WatchedConfig& c) {
  return c.enabled == (c.timeout % 2 == 0) && c.endpoints.size() == 1 &&
         c.endpoints[0] == std::to_string(c.timeout);
}

TEST(ConcurrencyTest, ReadersNeverSeeAPartlyBuiltSnapshot) {
  ConfigManager manager;
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
  ASSERT_TRUE(manager.update("w", consistent_update(2)).ok());
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::atomic<int> torn{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      Reader<WatchedConfig> reader = *manager.reader<WatchedConfig>("w");
      int last = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        std::shared_ptr<const WatchedConfig> held;  // keeps get()'s snapshot alive
        if (r == 0) {
          held = *manager.get<WatchedConfig>("w");
        }
        const WatchedConfig& c = r == 0 ? *held : reader.get();
        if (!consistent(c) || c.timeout < last) {
          ++torn;
        }
        last = c.timeout;
        ++reads;
      }
    });
  }
  for (int n = 3; n <= 300; ++n) {
    ASSERT_TRUE(manager.update("w", consistent_update(n)).ok());
  }
  ASSERT_TRUE(testing::wait_until([&] { return reads.load() > 1000; }));
  stop = true;
  for (auto& t : readers) {
    t.join();
  }
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ((*manager.get<WatchedConfig>("w"))->timeout, 300);
}

TEST(ConcurrencyTest, SubscribeUnsubscribeWhilePublishing) {
  ConfigManager manager;
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0};
  std::thread churn([&] {
    while (!stop.load()) {
      auto sub = *manager.subscribe("w", "timeout", [&](auto&, auto&, auto&) { ++calls; });
      std::this_thread::yield();
    }  // each handle is destroyed while callbacks may be running
  });
  std::atomic<int> steady{0};
  auto sub = *manager.subscribe("w", "", [&](auto&, const SnapshotPtr& s, auto&) {
    steady = static_cast<int>(s->generation());
  });
  for (int n = 1; n <= 200; ++n) {
    ASSERT_TRUE(manager.update("w", consistent_update(n + 2)).ok());
  }
  stop = true;
  churn.join();
  EXPECT_TRUE(testing::wait_until([&] { return steady.load() == 201; }));
}

TEST(ConcurrencyTest, ManyWritersSerializeThroughTheUpdateThread) {
  ConfigManager manager;
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i) {
        EXPECT_TRUE(manager.update("w", consistent_update(w * 100 + i + 2)).ok());
      }
    });
  }
  for (auto& t : writers) {
    t.join();
  }
  EXPECT_EQ((*manager.snapshot("w"))->generation(), 201u);
  EXPECT_TRUE(consistent(**manager.get<WatchedConfig>("w")));
}

TEST(ConcurrencyTest, DestroyingTheManagerWithLiveSubscriptionsAndReaders) {
  Subscription sub;
  std::optional<Reader<WatchedConfig>> reader;
  {
    ConfigManager manager;
    ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
    sub = *manager.subscribe("w", "", [](auto&, auto&, auto&) {});
    reader.emplace(*manager.reader<WatchedConfig>("w"));
    ASSERT_TRUE(manager.update("w", consistent_update(4)).ok());
  }
  EXPECT_EQ(reader->get().timeout, 4);
  sub.cancel();
  EXPECT_FALSE(sub.active());
}

}  // namespace
}  // namespace liveconf
