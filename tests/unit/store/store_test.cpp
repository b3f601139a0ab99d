#include "liveconf/store.hpp"

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "testutil/configs.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using testing::ServiceConfig;
using testing::wait_until;
using testing::WatchedConfig;

// Collects log lines; tests assert on what the manager reports.
struct LogSink {
  std::mutex mu;
  std::vector<std::string> lines;
  ManagerOptions options() {
    ManagerOptions o;
    o.log = [this](LogLevel, std::string_view m) {
      std::lock_guard<std::mutex> lk(mu);
      lines.emplace_back(m);
    };
    return o;
  }
  std::string all() {
    std::lock_guard<std::mutex> lk(mu);
    std::string out;
    for (const auto& l : lines) {
      out += l + "\n";
    }
    return out;
  }
};

Value dict(std::initializer_list<std::pair<const char*, Value>> items) {
  Value v = Value::object();
  for (const auto& [k, val] : items) {
    v.set(k, val);
  }
  return v;
}

class ConfigManagerTest : public ::testing::Test {
 protected:
  LogSink log;
  ConfigManager manager{log.options()};
};

TEST_F(ConfigManagerTest, RegisterGetUpdateLikeTheSeed) {
  WatchedConfig initial;
  initial.api_key = "initial-key";
  initial.endpoints = {"http://api.example.com"};
  ASSERT_TRUE(manager.register_config("watched", initial).ok());
  auto current = manager.get<WatchedConfig>("watched");
  ASSERT_TRUE(current);
  EXPECT_EQ((*current)->api_key, "initial-key");
  EXPECT_EQ((*current)->timeout, 30);

  Value updated = dict(
      {{"api_key", "updated-key-123"},
       {"timeout", 60},
       {"endpoints", Value(Value::Array{"http://api.example.com", "http://backup.example.com"})}});
  ASSERT_TRUE(manager.update("watched", updated).ok());
  auto after = manager.get<WatchedConfig>("watched");
  EXPECT_EQ((*after)->timeout, 60);
  EXPECT_EQ((*after)->endpoints.size(), 2u);
  ChangeSet d = diff(**current, **after);
  EXPECT_EQ(d.size(), 3u);
  // The old shared_ptr still points at the old, intact object.
  EXPECT_EQ((*current)->timeout, 30);
}

TEST_F(ConfigManagerTest, BadUpdateIsRefusedAndTheOldSnapshotKeepsServing) {
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
  const auto before = *manager.snapshot("w");
  Status st = manager.update("w", dict({{"timeout", "soon"}}));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kType);
  EXPECT_EQ(st.error().path(), KeyPath("timeout"));
  EXPECT_NE(st.error().to_string().find("layer \"override\""), std::string::npos)
      << st.error().to_string();
  EXPECT_EQ((*manager.snapshot("w"))->generation(), before->generation());
  EXPECT_EQ((*manager.get<WatchedConfig>("w"))->timeout, 30);
  auto status = manager.status("w");
  EXPECT_EQ(status->failures, 1u);
  ASSERT_TRUE(status->last_error.has_value());
  EXPECT_NE(log.all().find("update refused, generation 1 keeps serving"), std::string::npos);
  // The refused override is not kept: a later good update builds on the last good one.
  ASSERT_TRUE(manager.update("w", dict({{"enabled", false}})).ok());
  EXPECT_EQ((*manager.get<WatchedConfig>("w"))->timeout, 30);
  EXPECT_FALSE(manager.status("w")->last_error.has_value());
}

TEST_F(ConfigManagerTest, UpdatesAccumulateUnlessReplaced) {
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
  ASSERT_TRUE(manager.update("w", dict({{"timeout", 10}})).ok());
  ASSERT_TRUE(manager.update("w", dict({{"enabled", false}})).ok());
  auto c = *manager.get<WatchedConfig>("w");
  EXPECT_EQ(c->timeout, 10);
  EXPECT_FALSE(c->enabled);
  ASSERT_TRUE(manager.update("w", dict({{"enabled", false}}), UpdateOptions{true}).ok());
  EXPECT_EQ((*manager.get<WatchedConfig>("w"))->timeout, 30);
}

TEST_F(ConfigManagerTest, GenerationsAndLayerVersionsAreRecorded) {
  RegisterOptions opts;
  opts.layers.push_back(Layer{"file:app.json", 10, dict({{"timeout", 5}}), "xxh3:1"});
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w", opts).ok());
  auto s1 = *manager.snapshot("w");
  EXPECT_EQ(s1->generation(), 1u);
  ASSERT_TRUE(
      manager.set_layer("w", Layer{"file:app.json", 10, dict({{"timeout", 6}}), "xxh3:2"}).ok());
  auto s2 = *manager.snapshot("w");
  EXPECT_EQ(s2->generation(), 2u);
  std::vector<LayerVersion> versions = s2->layer_versions();
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].name, "defaults");
  EXPECT_EQ(versions[1].version, "xxh3:2");
  // Re-applying identical content publishes nothing.
  ASSERT_TRUE(
      manager.set_layer("w", Layer{"file:app.json", 10, dict({{"timeout", 6}}), "xxh3:2"}).ok());
  EXPECT_EQ((*manager.snapshot("w"))->generation(), 2u);
}

// ManagerOptions::on_publish sees every generation, in order, on the update
// thread, where a subscriber may skip some; a throwing hook is logged and
// changes nothing served. RegisterOptions::first_generation starts the count.
TEST(OnPublishTest, SeesEveryGenerationInOrderAndMayNotBreakAPublish) {
  LogSink log;
  std::mutex mu;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;  // (old, new) generations
  bool throw_once = true;
  ManagerOptions o = log.options();
  o.on_publish = [&](const SnapshotPtr& old, const SnapshotPtr& current) {
    std::lock_guard<std::mutex> lk(mu);
    seen.emplace_back(old ? old->generation() : 0, current->generation());
    if (std::exchange(throw_once, false)) {
      throw std::runtime_error("hook failed");
    }
  };
  ConfigManager manager(o);
  RegisterOptions ro;
  ro.first_generation = 41;
  ASSERT_TRUE(manager.register_untyped("app", ro).ok());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(manager.update("app", dict({{"n", i}})).ok());
  }
  EXPECT_EQ((*manager.snapshot("app"))->generation(), 91u);
  EXPECT_EQ((*manager.snapshot("app"))->find("n")->as_int(), 49);
  std::lock_guard<std::mutex> lk(mu);
  ASSERT_EQ(seen.size(), 51u);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].first, i == 0 ? 0 : 40 + i);
    EXPECT_EQ(seen[i].second, 41 + i);
  }
  EXPECT_NE(log.all().find("hook failed"), std::string::npos) << log.all();

  RegisterOptions zero;
  zero.first_generation = 0;
  Status st = manager.register_untyped("zero", zero);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("first_generation"), std::string::npos);
}

TEST_F(ConfigManagerTest, ExplainShowsEveryLayerAndProvenance) {
  RegisterOptions opts;
  opts.layers.push_back(Layer{"file:app.json", 10, dict({{"timeout", 5}}), "1"});
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w", opts).ok());
  ASSERT_TRUE(manager.update("w", dict({{"timeout", 7}})).ok());
  Result<Explanation> e = manager.explain("w", "timeout");
  ASSERT_TRUE(e);
  ASSERT_EQ(e->layers.size(), 3u);
  EXPECT_EQ(e->layers[0].layer, "override");
  EXPECT_TRUE(e->layers[0].winner);
  EXPECT_EQ(e->layers[1].layer, "file:app.json");
  EXPECT_EQ(e->layers[2].layer, "defaults");
  EXPECT_EQ(e->effective->as_int(), 7);
  EXPECT_EQ((*manager.snapshot("w"))->find("timeout")->origin().source(), "override");
  Result<Explanation> secret = manager.explain("w", "api_key");
  ASSERT_TRUE(secret);
  EXPECT_EQ(secret->effective->as_string(), "***");
}

TEST_F(ConfigManagerTest, ExportMasksSecretsUnlessRevealed) {
  WatchedConfig initial;
  initial.api_key = "sk-live-xyz";
  ASSERT_TRUE(manager.register_config("w", initial).ok());
  Result<std::string> json = manager.export_config("w");
  ASSERT_TRUE(json) << json.error().to_string();
  EXPECT_EQ(json->find("sk-live-xyz"), std::string::npos);
  EXPECT_NE(json->find("\"***\""), std::string::npos);
  ExportOptions reveal;
  reveal.reveal_secrets = true;
  reveal.format = "yaml";
  Result<std::string> yaml = manager.export_config("w", reveal);
  ASSERT_TRUE(yaml) << yaml.error().to_string();
  EXPECT_NE(yaml->find("sk-live-xyz"), std::string::npos);
  ExportOptions bad;
  bad.format = "ini";
  EXPECT_FALSE(manager.export_config("w", bad));
}

TEST_F(ConfigManagerTest, ListStatusUnregisterAndErrors) {
  ASSERT_TRUE(manager.register_config<WatchedConfig>("a").ok());
  ASSERT_TRUE(manager.register_untyped("b").ok());
  EXPECT_EQ(manager.register_config<WatchedConfig>("a").error().code(), ErrorCode::kValidation);
  std::vector<ConfigStatus> all = manager.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "a");
  EXPECT_EQ(all[0].type_name, "WatchedConfig");
  EXPECT_EQ(all[1].type_name, "untyped");
  EXPECT_EQ(manager.get<ServiceConfig>("a").error().code(), ErrorCode::kType);
  EXPECT_EQ(manager.get<WatchedConfig>("nope").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(manager.update("nope", Value::object()).error().code(), ErrorCode::kNotFound);
  auto reader = manager.reader<WatchedConfig>("a");
  ASSERT_TRUE(reader);
  ASSERT_TRUE(manager.unregister("a").ok());
  EXPECT_EQ(manager.unregister("a").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(reader->get().timeout, 30);  // readers keep the last snapshot
  EXPECT_EQ(manager.list().size(), 1u);
}

TEST_F(ConfigManagerTest, RegisterRefusesLayersThatDoNotBind) {
  RegisterOptions opts;
  opts.layers.push_back(Layer{"file:bad.json", 10, dict({{"timeout", -5}}), "1"});
  auto st = manager.register_config<WatchedConfig>("w", opts);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "must be between 1 and 3600");
  EXPECT_FALSE(manager.snapshot("w"));
}

TEST_F(ConfigManagerTest, StrictModeRefusesUnknownKeysAndLaxModeWarns) {
  RegisterOptions lax;
  lax.layers.push_back(Layer{"file:a.json", 1, dict({{"timeuot", 5}}), "1"});
  ASSERT_TRUE(manager.register_config<WatchedConfig>("lax", lax).ok());
  EXPECT_EQ((*manager.snapshot("lax"))->warnings().size(), 1u);
  EXPECT_NE(log.all().find("did you mean \"timeout\"?"), std::string::npos) << log.all();
  RegisterOptions strict = lax;
  strict.strict = true;
  EXPECT_FALSE(manager.register_config<WatchedConfig>("strict", strict).ok());
}

TEST_F(ConfigManagerTest, SubscribersGetOldNewAndTheDiff) {
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
  std::mutex mu;
  std::vector<std::string> seen;
  std::uint64_t last_generation = 0;
  auto sub = manager.subscribe(
      "w", "", [&](const SnapshotPtr& old_s, const SnapshotPtr& new_s, const ChangeSet& changes) {
        std::lock_guard<std::mutex> lk(mu);
        EXPECT_LT(old_s->generation(), new_s->generation());
        last_generation = new_s->generation();
        for (const Change& c : changes) {
          seen.push_back(c.to_string());
        }
      });
  ASSERT_TRUE(sub);
  ASSERT_TRUE(manager.update("w", dict({{"timeout", 60}, {"api_key", "s3cr3t"}})).ok());
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard<std::mutex> lk(mu);
    return last_generation == 2;
  }));
  std::lock_guard<std::mutex> lk(mu);
  ASSERT_EQ(seen.size(), 2u);
  // In the config's key order (the defaults' declaration order), not the update's.
  EXPECT_EQ(seen[0], "api_key: \"***\" -> \"***\" (secret changed)");
  EXPECT_EQ(seen[1], "timeout: 30 -> 60");
}

TEST_F(ConfigManagerTest, PrefixSubscriptionsOnlyHearTheirSubtree) {
  ASSERT_TRUE(manager.register_config<ServiceConfig>("s").ok());
  std::atomic<int> db_calls{0};
  std::atomic<int> all_calls{0};
  auto db = *manager.subscribe("s", "db", [&](auto&, auto&, const ChangeSet& c) {
    EXPECT_TRUE(c.touches("db"));
    EXPECT_FALSE(c.touches("ratio"));
    ++db_calls;
  });
  auto all = *manager.subscribe("s", "", [&](auto&, auto&, const ChangeSet&) { ++all_calls; });
  ASSERT_TRUE(manager.update("s", dict({{"ratio", 0.75}})).ok());
  ASSERT_TRUE(manager.update("s", dict({{"db.host", "db2"}})).ok());
  ASSERT_TRUE(wait_until([&] { return all_calls.load() >= 1 && db_calls.load() == 1; }));
  // Until the snapshots are all delivered, all_calls may have merged them.
  ASSERT_TRUE(wait_until(
      [&] { return (*manager.snapshot("s"))->generation() == 3 && db_calls.load() == 1; }));
  EXPECT_EQ(db_calls.load(), 1);
}

TEST_F(ConfigManagerTest, TypedSubscriptionsReceiveObjects) {
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
  std::atomic<int> timeout{0};
  auto sub = manager.subscribe<WatchedConfig>(
      "w", "timeout", [&](const WatchedConfig& a, const WatchedConfig& b, const ChangeSet&) {
        EXPECT_EQ(a.timeout, 30);
        timeout = b.timeout;
      });
  ASSERT_TRUE(sub);
  ASSERT_TRUE(manager.update("w", dict({{"timeout", 99}})).ok());
  EXPECT_TRUE(wait_until([&] { return timeout.load() == 99; }));
  EXPECT_EQ(manager.subscribe<ServiceConfig>("w", "", nullptr).error().code(), ErrorCode::kType);
}

TEST_F(ConfigManagerTest, ThrowingSubscriberIsReportedAndOthersStillRun) {
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
  std::atomic<int> good{0};
  auto bad = *manager.subscribe(
      "w", "", [](auto&, auto&, auto&) { throw std::runtime_error("subscriber exploded"); });
  auto ok = *manager.subscribe("w", "", [&](auto&, auto&, auto&) { ++good; });
  ASSERT_TRUE(manager.update("w", dict({{"timeout", 2}})).ok());
  ASSERT_TRUE(
      wait_until([&] { return good.load() == 1 && manager.status("w")->callback_errors == 1; }));
  EXPECT_NE(log.all().find("subscriber exploded"), std::string::npos);
  ASSERT_TRUE(manager.update("w", dict({{"timeout", 3}})).ok());
  EXPECT_TRUE(wait_until([&] { return good.load() == 2; }));
}

TEST_F(ConfigManagerTest, CancelStopsCallbacksEvenFromInsideTheCallback) {
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
  std::atomic<int> calls{0};
  Subscription sub;
  sub = *manager.subscribe("w", "", [&](auto&, auto&, auto&) {
    ++calls;
    sub.cancel();  // destroying from inside fn is fine
  });
  ASSERT_TRUE(manager.update("w", dict({{"timeout", 2}})).ok());
  ASSERT_TRUE(wait_until([&] { return calls.load() == 1; }));
  EXPECT_FALSE(sub.active());
  ASSERT_TRUE(manager.update("w", dict({{"timeout", 3}})).ok());
  // A later subscriber that does hear generation 3 proves dispatch went past it.
  std::atomic<bool> later{false};
  auto probe = *manager.subscribe("w", "", [&](auto&, auto&, auto&) { later = true; });
  ASSERT_TRUE(manager.update("w", dict({{"timeout", 4}})).ok());
  ASSERT_TRUE(wait_until([&] { return later.load(); }));
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(ConfigManagerTest, SlowSubscriberGetsMergedChangesAndTheNewestState) {
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::vector<std::pair<int, int>> calls;  // (old timeout, new timeout)
  auto sub = *manager.subscribe<WatchedConfig>(
      "w", "", [&](const WatchedConfig& a, const WatchedConfig& b, const ChangeSet&) {
        std::unique_lock<std::mutex> lk(mu);
        calls.emplace_back(a.timeout, b.timeout);
        cv.notify_all();
        cv.wait(lk, [&] { return release; });
      });
  ASSERT_TRUE(manager.update("w", dict({{"timeout", 2}})).ok());
  {
    std::unique_lock<std::mutex> lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(10), [&] { return calls.size() == 1; }));
  }
  // The subscriber is blocked; publishing goes on without it.
  for (int t = 3; t <= 9; ++t) {
    ASSERT_TRUE(manager.update("w", dict({{"timeout", t}})).ok());
  }
  EXPECT_EQ((*manager.get<WatchedConfig>("w"))->timeout, 9);
  {
    std::lock_guard<std::mutex> lk(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard<std::mutex> lk(mu);
    return !calls.empty() && calls.back().second == 9;
  }));
  std::lock_guard<std::mutex> lk(mu);
  EXPECT_EQ(calls.size(), 2u);  // 2, then everything since merged into one call
  EXPECT_EQ(calls[1].first, 2);
}

TEST_F(ConfigManagerTest, BatchOfSeveralLayersIsOneSnapshotAndOneNotification) {
  RegisterOptions opts;
  opts.layers.push_back(Layer{"file:a", 1, dict({{"timeout", 1}}), "1"});
  opts.layers.push_back(Layer{"file:b", 2, dict({{"enabled", true}}), "1"});
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w", opts).ok());
  std::atomic<int> calls{0};
  std::atomic<std::size_t> changes{0};
  auto sub = *manager.subscribe("w", "", [&](auto&, auto&, const ChangeSet& c) {
    ++calls;
    changes = c.size();
  });
  LayerBatch batch;
  batch.set.push_back(Layer{"file:a", 1, dict({{"timeout", 2}}), "2"});
  batch.set.push_back(Layer{"file:b", 2, dict({{"enabled", false}}), "2"});
  ASSERT_TRUE(manager.apply("w", batch).ok());
  EXPECT_EQ((*manager.snapshot("w"))->generation(), 2u);
  ASSERT_TRUE(wait_until([&] { return calls.load() == 1; }));
  EXPECT_EQ(changes.load(), 2u);
  ASSERT_TRUE(manager.remove_layer("w", "file:a").ok());
  EXPECT_EQ((*manager.get<WatchedConfig>("w"))->timeout, 30);
}

TEST_F(ConfigManagerTest, RestartRequiredFieldsKeepTheirValueAndReportThePendingChange) {
  ASSERT_TRUE(manager.register_config<ServiceConfig>("s").ok());
  std::mutex mu;
  std::vector<Change> seen;
  auto sub = *manager.subscribe("s", "db", [&](auto&, auto&, const ChangeSet& c) {
    std::lock_guard<std::mutex> lk(mu);
    seen.insert(seen.end(), c.begin(), c.end());
  });
  ASSERT_TRUE(manager.update("s", dict({{"db.port", 6543}, {"db.host", "new-host"}})).ok());
  auto c = *manager.get<ServiceConfig>("s");
  EXPECT_EQ(c->db.port, 5432);        // pinned until restart
  EXPECT_EQ(c->db.host, "new-host");  // hot
  auto snap = *manager.snapshot("s");
  ASSERT_EQ(snap->pending_restart().size(), 1u);
  EXPECT_EQ(snap->pending_restart()[0].new_value->as_int(), 6543);
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard<std::mutex> lk(mu);
    return seen.size() == 2;
  }));
  std::lock_guard<std::mutex> lk(mu);
  const auto pending =
      std::find_if(seen.begin(), seen.end(), [](const Change& ch) { return ch.restart_required; });
  ASSERT_NE(pending, seen.end());
  EXPECT_EQ(pending->path, KeyPath("db.port"));
  EXPECT_EQ(pending->to_string(), "db.port: 5432 -> 6543 (takes effect after restart)");
}

TEST_F(ConfigManagerTest, MergePoliciesFromTheSchemaApplyAcrossLayers) {
  RegisterOptions opts;
  opts.layers.push_back(Layer{"file:a", 1, dict({{"plugins", Value(Value::Array{"auth"})}}), "1"});
  opts.layers.push_back(Layer{"file:b", 2, dict({{"plugins", Value(Value::Array{"trace"})}}), "1"});
  ASSERT_TRUE(manager.register_config<ServiceConfig>("s", opts).ok());
  EXPECT_EQ((*manager.get<ServiceConfig>("s"))->plugins,
            (std::vector<std::string>{"auth", "trace"}));
}

// A Reader is a pinned view: operator-> reads the snapshot of the last
// get()/refresh(), never a newer one behind the caller's back, so one
// expression cannot mix two generations, and the reference it returned
// stays valid while newer snapshots are published.
TEST_F(ConfigManagerTest, ReaderIsAPinnedViewUntilTheCallerAsksForANewerOne) {
  ASSERT_TRUE(manager.register_config<WatchedConfig>("w").ok());
  Reader<WatchedConfig> reader = manager.reader<WatchedConfig>("w").value();
  const WatchedConfig& pinned = reader.get();
  const std::uint64_t g1 = reader.snapshot()->generation();
  EXPECT_EQ(pinned.timeout, 30);
  ASSERT_TRUE(manager.update("w", dict({{"timeout", 60}})).ok());
  // Published, but the pinned view does not move by itself.
  EXPECT_TRUE(reader.stale());
  EXPECT_EQ(reader->timeout, 30);
  EXPECT_EQ((*reader).timeout, 30);
  EXPECT_EQ(&reader.pinned(), &pinned);
  EXPECT_EQ(reader.snapshot()->generation(), g1);
  EXPECT_EQ(pinned.timeout, 30) << "the pinned object must stay alive";
  // Asking moves it.
  EXPECT_TRUE(reader.refresh());
  EXPECT_FALSE(reader.stale());
  EXPECT_EQ(reader->timeout, 60);
  EXPECT_FALSE(reader.refresh());
  ASSERT_TRUE(manager.update("w", dict({{"timeout", 90}})).ok());
  EXPECT_EQ(reader->timeout, 60);
  EXPECT_EQ(reader.get().timeout, 90);
}

// Type identity is the type, not the address of a per-shared-object static:
// a config registered from one place is found by get<T>() from another.
TEST_F(ConfigManagerTest, TypeIdComparesTypesNotAddresses) {
  EXPECT_TRUE(TypeId::of<WatchedConfig>() == TypeId::of<WatchedConfig>());
  EXPECT_FALSE(TypeId::of<WatchedConfig>() == TypeId::of<ServiceConfig>());
  EXPECT_FALSE(TypeId::of<WatchedConfig>() == TypeId());
  EXPECT_TRUE(TypeId().empty());
  ASSERT_TRUE(manager.register_schema("s", std::make_shared<Schema>(), Value::object()).ok());
  EXPECT_TRUE(manager.get<Value>("s").has_value()) << "register_schema's Value is get<Value>'s";
}

// A source that is ready when the test opens its gate: a remote store that
// has not answered yet at start-up (the etcd source's wait_ready()).
class GatedSource final : public Source {
 public:
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    bool waiting = false;
    std::thread::id waited_on;
    bool loaded_before_ready = false;
    bool ready = false;
  };
  explicit GatedSource(std::shared_ptr<Gate> gate) : gate_(std::move(gate)) {}
  const std::string& name() const noexcept override { return name_; }
  void wait_ready() override {
    std::unique_lock<std::mutex> lk(gate_->mu);
    gate_->waiting = true;
    gate_->waited_on = std::this_thread::get_id();
    gate_->cv.notify_all();
    gate_->cv.wait(lk, [&] { return gate_->open; });
    gate_->ready = true;
  }
  Result<SourceLoad> load() override {
    {
      std::lock_guard<std::mutex> lk(gate_->mu);
      gate_->loaded_before_ready = gate_->loaded_before_ready || !gate_->ready;
    }
    SourceLoad out;
    out.layers.push_back(Layer{name_, 5, dict({{"remote", Value(true)}}), "v1"});
    return out;
  }
  Result<WatchHandle> watch(std::function<void()> changed) override {
    (void)changed;
    return WatchHandle();
  }

 private:
  std::shared_ptr<Gate> gate_;
  std::string name_ = "gated";
};

TEST_F(ConfigManagerTest, AddSourceWaitsForASourceOnTheCallersThreadNotTheUpdateThread) {
  ASSERT_TRUE(manager.register_untyped("a").ok());
  ASSERT_TRUE(manager.register_untyped("b").ok());
  auto gate = std::make_shared<GatedSource::Gate>();
  std::promise<std::thread::id> adder_id;
  std::atomic<bool> add_returned{false};
  Status added;
  std::thread adder([&] {
    adder_id.set_value(std::this_thread::get_id());
    added = manager.add_source("a", std::make_unique<GatedSource>(gate));
    add_returned = true;
  });
  const std::thread::id adder_thread = adder_id.get_future().get();
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard<std::mutex> lk(gate->mu);
    return gate->waiting;
  }));
  // The source is waiting to become ready: every config, its own included,
  // still takes updates. (Were the wait on the update thread, they would
  // wait for the gate, which opens only after this check.)
  std::atomic<bool> updated{false};
  std::thread updater([&] {
    EXPECT_TRUE(manager.update("b", dict({{"x", 1}})).ok());
    EXPECT_TRUE(manager.update("a", dict({{"y", 2}})).ok());
    updated = true;
  });
  EXPECT_TRUE(wait_until([&] { return updated.load(); }))
      << "update() waited for a source that add_source was waiting for";
  EXPECT_FALSE(add_returned.load()) << "add_source returned before the source was ready";
  {
    std::lock_guard<std::mutex> lk(gate->mu);
    EXPECT_EQ(gate->waited_on, adder_thread);
    gate->open = true;
  }
  gate->cv.notify_all();
  updater.join();
  adder.join();
  ASSERT_TRUE(added.ok()) << added.to_string();
  EXPECT_FALSE(gate->loaded_before_ready) << "load() ran before wait_ready() returned";
  const SnapshotPtr a = *manager.snapshot("a");
  ASSERT_NE(a->find(KeyPath("remote")), nullptr);
  EXPECT_TRUE(a->find(KeyPath("remote"))->as_bool());
  EXPECT_EQ(a->find(KeyPath("y"))->as_int(), 2);
}

TEST_F(ConfigManagerTest, AddSourceRefusesAnUnknownConfigOrADuplicateBeforeWaiting) {
  ASSERT_TRUE(manager.register_untyped("a").ok());
  auto gate = std::make_shared<GatedSource::Gate>();
  gate->open = true;
  ASSERT_TRUE(manager.add_source("a", std::make_unique<GatedSource>(gate)).ok());
  // A gate that never opens: a source that waited would hang the test.
  auto shut = std::make_shared<GatedSource::Gate>();
  const Status unknown = manager.add_source("nope", std::make_unique<GatedSource>(shut));
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  const Status twice = manager.add_source("a", std::make_unique<GatedSource>(shut));
  EXPECT_EQ(twice.error().code(), ErrorCode::kValidation);
  std::lock_guard<std::mutex> lk(shut->mu);
  EXPECT_FALSE(shut->waiting);
}

}  // namespace
}  // namespace liveconf
