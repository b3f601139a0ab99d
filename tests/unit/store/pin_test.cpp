// ConfigManager::pin / unpin (issue 14): a pinned stack is served whatever
// the sources say; the sources keep loading behind it (status().pin->pending);
// unpin publishes them at once; a TTL on the manager's clock ends the pin;
// subscribers see exactly two diffs; an invalid pinned stack is refused.
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/memory_source.hpp"
#include "liveconf/store.hpp"

#include "testutil/configs.hpp"
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

class PinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ManagerOptions options;
    options.clock = clock;
    options.log = [this](LogLevel, std::string_view m) {
      std::lock_guard<std::mutex> lk(mu);
      logged.emplace_back(m);
    };
    manager = std::make_unique<ConfigManager>(options);
    RegisterOptions ro;
    ro.sensitive.emplace_back("secret");
    ASSERT_TRUE(manager->register_untyped("c", ro).ok());
    ASSERT_TRUE(manager->register_untyped("barrier").ok());
    auto source = std::make_unique<MemorySource>(
        MemorySourceOptions{.name = "hand", .priority = 10, .value = with_x(1)});
    control = source->share();
    ASSERT_TRUE(manager->add_source("c", std::move(source)).ok());
    auto sub = manager->subscribe(
        "c", "", [this](const SnapshotPtr& a, const SnapshotPtr& b, const ChangeSet& changes) {
          std::lock_guard<std::mutex> lk(mu);
          diffs.push_back({a->generation(), b->generation(), changes.size()});
        });
    ASSERT_TRUE(sub.ok());
    subscription = std::move(*sub);
  }

  // Returns once the update thread has handled everything queued before.
  void barrier() { ASSERT_TRUE(manager->update("barrier", Value::object()).ok()); }
  std::int64_t served() { return manager->snapshot("c").value()->tree().find("x")->as_int(); }
  std::uint64_t generation() { return manager->snapshot("c").value()->generation(); }
  void set_and_wait_loaded(std::int64_t x) {
    const std::uint64_t loads = control.loads();
    control.set(with_x(x));
    ASSERT_TRUE(wait_until([&] { return control.loads() > loads; }));
    barrier();
  }

  struct Diff {
    std::uint64_t from = 0;
    std::uint64_t to = 0;
    std::size_t changes = 0;
  };
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  MemorySource::Handle control{nullptr};
  std::unique_ptr<ConfigManager> manager;
  std::mutex mu;
  std::vector<std::string> logged;
  std::vector<Diff> diffs;
  Subscription subscription;
};

TEST_F(PinTest, PinnedContentIsServedTheSourcesWaitAndUnpinPublishesThem) {
  const std::uint64_t before = generation();
  PinOptions po;
  po.reason = "rollback by test";
  po.pinned_generation = 7;
  Value pinned = with_x(100);
  pinned.set("secret", Value("pinned-secret"));
  ASSERT_TRUE(manager->pin("c", {Layer{"restored", 10, pinned, "v7"}}, po).ok());
  EXPECT_EQ(served(), 100);
  EXPECT_EQ(generation(), before + 1);
  // The sources change: loaded, validated, not served.
  set_and_wait_loaded(2);
  set_and_wait_loaded(3);
  EXPECT_EQ(served(), 100);
  EXPECT_EQ(generation(), before + 1);
  const ConfigStatus st = manager->status("c").value();
  ASSERT_TRUE(st.pin.has_value());
  EXPECT_EQ(st.pin->pinned_generation, 7u);
  EXPECT_EQ(st.pin->served_generation, before + 1);
  EXPECT_EQ(st.pin->reason, "rollback by test");
  EXPECT_FALSE(st.pin->expires.has_value());
  // What unpin would publish: x back to 3, the secret gone (masked).
  ASSERT_EQ(st.pin->pending.size(), 2u);
  for (const Change& c : st.pin->pending) {
    if (c.path.to_string() == "x") {
      EXPECT_EQ(c.old_value->as_int(), 100);
      EXPECT_EQ(c.new_value->as_int(), 3);
    } else {
      EXPECT_EQ(c.path.to_string(), "secret");
      EXPECT_EQ(c.old_value->as_string(), "***");
    }
  }
  // unpin: the sources' state at once, one generation.
  ASSERT_TRUE(manager->unpin("c").ok());
  EXPECT_EQ(served(), 3);
  EXPECT_EQ(generation(), before + 2);
  EXPECT_FALSE(manager->status("c").value().pin.has_value());
  EXPECT_EQ(manager->snapshot("c").value()->tree().find("secret"), nullptr);
  EXPECT_EQ(manager->unpin("c").error().code(), ErrorCode::kNotFound);
  // Unpinned, changes publish again.
  set_and_wait_loaded(4);
  EXPECT_EQ(served(), 4);
  // Subscribers saw the pin and the unpin (and the last change): no
  // intermediate state of the sources while pinned.
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard<std::mutex> lk(mu);
    return !diffs.empty() && diffs.back().to == before + 3;
  }));
  std::lock_guard<std::mutex> lk(mu);
  for (const Diff& d : diffs) {
    EXPECT_TRUE(d.to == before + 1 || d.to == before + 2 || d.to == before + 3) << d.to;
  }
  bool secret_logged = false;
  for (const std::string& l : logged) {
    secret_logged = secret_logged || l.find("pinned-secret") != std::string::npos;
  }
  EXPECT_FALSE(secret_logged);
}

TEST_F(PinTest, ATtlOnTheManagersClockEndsThePin) {
  PinOptions po;
  po.ttl = milliseconds(5000);
  ASSERT_TRUE(manager->pin("c", {Layer{"restored", 10, with_x(50), "v1"}}, po).ok());
  ASSERT_TRUE(manager->status("c").value().pin->expires.has_value());
  set_and_wait_loaded(9);
  clock->advance(milliseconds(4999));
  barrier();
  EXPECT_EQ(served(), 50) << "the pin ended before its TTL";
  clock->advance(milliseconds(1));
  ASSERT_TRUE(wait_until([&] { return served() == 9; })) << "the pin outlived its TTL";
  EXPECT_FALSE(manager->status("c").value().pin.has_value());
  std::lock_guard<std::mutex> lk(mu);
  bool expired = false;
  for (const std::string& l : logged) {
    expired = expired || l.find("the pin expired") != std::string::npos;
  }
  EXPECT_TRUE(expired);
}

TEST_F(PinTest, AnEarlierTtlDoesNotEndALaterPin) {
  PinOptions short_pin;
  short_pin.ttl = milliseconds(100);
  ASSERT_TRUE(manager->pin("c", {Layer{"restored", 10, with_x(50), "v1"}}, short_pin).ok());
  ASSERT_TRUE(manager->pin("c", {Layer{"restored", 10, with_x(60), "v2"}}).ok());  // no TTL
  clock->advance(milliseconds(200));
  barrier();
  EXPECT_EQ(served(), 60);
  EXPECT_TRUE(manager->status("c").value().pin.has_value());
}

TEST(PinTypedTest, AnInvalidPinnedStackIsRefusedAndNothingChanges) {
  ManagerOptions options;
  options.log = [](LogLevel, std::string_view) {};
  ConfigManager manager(options);
  ASSERT_TRUE(manager.register_config<testing::ServiceConfig>("svc").ok());
  const std::uint64_t before = manager.snapshot("svc").value()->generation();
  Value bad = Value::object();
  bad.set("workers", Value("not a number"));
  Status st = manager.pin("svc", {Layer{"restored", 10, bad, "v1"}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(manager.snapshot("svc").value()->generation(), before);
  EXPECT_FALSE(manager.status("svc").value().pin.has_value());
  EXPECT_EQ(manager.pin("nope", {}).error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace liveconf
