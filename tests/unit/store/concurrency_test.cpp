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

// BEHAVIOUR 31, measured: while a reload is stuck inside the update thread
// (a validator blocked on a latch), readers keep reading: their count grows
// by thousands during the block, and they see the old snapshot throughout.
TEST(ConcurrencyTest, B31_ReadersKeepReadingWhileAReloadIsStuckInTheUpdateThread) {
  ConfigManager manager;
  std::atomic<bool> block{false};
  std::atomic<bool> inside{false};
  std::atomic<bool> release{false};
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
  // A source whose load() blocks once `block` is set, until `release`.
  struct BlockingSource final : Source {
    std::atomic<bool>* block;
    std::atomic<bool>* inside;
    std::atomic<bool>* release;
    std::function<void()> changed;
    std::string name_ = "blocking";
    [[nodiscard]] const std::string& name() const noexcept override { return name_; }
    [[nodiscard]] Result<SourceLoad> load() override {
      if (block->load()) {
        inside->store(true);
        while (!release->load()) {
          std::this_thread::yield();  // held inside load() until the test releases it
        }
      }
      SourceLoad out;
      Value v = Value::object();
      v["timeout"] = block->load() ? 99 : 7;
      out.layers.push_back(Layer{name_, 5, std::move(v), block->load() ? "2" : "1"});
      return out;
    }
    [[nodiscard]] Result<WatchHandle> watch(std::function<void()> fn) override {
      changed = std::move(fn);
      return WatchHandle();
    }
  };
  auto source = std::make_unique<BlockingSource>();
  source->block = &block;
  source->inside = &inside;
  source->release = &release;
  BlockingSource* raw = source.get();
  ASSERT_TRUE(manager.add_source("w", std::move(source)).ok());
  ASSERT_EQ((*manager.get<WatchedConfig>("w"))->timeout, 7);

  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::atomic<int> wrong{0};
  std::thread reader([&] {
    Reader<WatchedConfig> r = *manager.reader<WatchedConfig>("w");
    while (!stop.load()) {
      const int t = r.get().timeout;
      if (t != 7 && t != 99) {
        ++wrong;
      }
      ++reads;
    }
  });
  block = true;
  raw->changed();  // the reload starts and blocks in load() on the update thread
  ASSERT_TRUE(testing::wait_until([&] { return inside.load(); }));
  const long before = reads.load();
  ASSERT_TRUE(testing::wait_until([&] { return reads.load() > before + 10000; }))
      << "readers stopped while a reload was stuck";
  EXPECT_EQ((*manager.get<WatchedConfig>("w"))->timeout, 7) << "a partly built snapshot showed";
  release = true;
  ASSERT_TRUE(
      testing::wait_until([&] { return (*manager.get<WatchedConfig>("w"))->timeout == 99; }));
  stop = true;
  reader.join();
  EXPECT_EQ(wrong.load(), 0);
}

// BEHAVIOUR 34, measured: calls of one subscription never overlap. The
// callback marks itself inside, lingers, and counts any entry while another
// call is inside; hundreds of publishes race it.
TEST(ConcurrencyTest, B34_CallsOfOneSubscriptionNeverOverlap) {
  ConfigManager manager;
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> calls{0};
  std::atomic<int> last_seen{0};
  auto sub =
      manager.subscribe("w", "", [&](const SnapshotPtr&, const SnapshotPtr& now, const ChangeSet&) {
        if (inside.fetch_add(1) != 0) {
          ++overlaps;
        }
        ++calls;
        last_seen = static_cast<int>(now->find("timeout")->as_int());
        std::this_thread::sleep_for(std::chrono::microseconds(200));  // linger: invite overlap
        inside.fetch_sub(1);
      });
  ASSERT_TRUE(sub);
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int n = 1; n <= 150; ++n) {
        Value v = Value::object();
        v["timeout"] = w * 1000 + n;
        (void)manager.update("w", v);
      }
    });
  }
  for (auto& t : writers) {
    t.join();
  }
  const int final_timeout = static_cast<int>((*manager.get<WatchedConfig>("w"))->timeout);
  ASSERT_TRUE(testing::wait_until([&] { return last_seen.load() == final_timeout; }))
      << "the newest state was never delivered";
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GT(calls.load(), 1);
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
