// Multi-source synchronisation end to end: real files, the real environment,
// the real inotify; the seed's scenario, automatic re-sync, coalescing, and
// per-source versions (BEHAVIOUR.md items 30, 32, 33, 35).
#include <climits>
#include <map>
#include <mutex>

#include <gtest/gtest.h>

#include "liveconf/env.hpp"
#include "liveconf/store.hpp"
#include "liveconf/sync.hpp"

#include "testutil/configs.hpp"
#include "testutil/recorders.hpp"
#include "testutil/save_patterns.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using testing::ScopedEnv;
using testing::SyncedConfig;
using testing::TempDir;
using testing::wait_until;
using namespace std::chrono_literals;

using Notifications = testing::ChangeLog;

struct SeedScenario {
  TempDir dir;
  std::filesystem::path primary = dir.write("config.json", R"({
  "feature_enabled": false,
  "rate_limit": 100,
  "timeout_ms": 5000,
  "api_version": "v1"
})");
  std::filesystem::path overrides = dir.write("overrides.json", R"({
  "rate_limit": 200,
  "timeout_ms": 10000
})");
  ScopedEnv feature{"MYAPP_FEATURE_ENABLED", "true"};
  ScopedEnv version{"MYAPP_API_VERSION", "v2"};
  ScopedEnv no_rate{"MYAPP_RATE_LIMIT", std::nullopt};
  ConfigManager manager;
  std::unique_ptr<MultiSourceConfigSync> sync;

  explicit SeedScenario(SyncOptions options = {}) {
    EXPECT_TRUE(manager.register_config<SyncedConfig>("synced", SyncedConfig{}).ok());
    sync = std::make_unique<MultiSourceConfigSync>("synced", manager, options);
    EXPECT_TRUE(sync->add_file_source(primary, 30).ok());
    EXPECT_TRUE(sync->add_file_source(overrides, 20).ok());
    EXPECT_TRUE(sync->add_env_source("MYAPP", 10).ok());
  }
  std::shared_ptr<const SyncedConfig> get() { return *manager.get<SyncedConfig>("synced"); }
};

TEST(MultiSourceSyncTest, SeedScenarioValuesAndSources) {
  SeedScenario s;
  Result<std::shared_ptr<const SyncedConfig>> c = s.sync->sync_configuration<SyncedConfig>();
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_TRUE((*c)->feature_enabled);
  EXPECT_EQ((*c)->rate_limit, 200);
  EXPECT_EQ((*c)->timeout_ms, 10000);
  EXPECT_EQ((*c)->api_version, "v2");
  const std::string env = "env:MYAPP";
  const std::string over = "file:" + s.overrides.string();
  std::map<std::string, std::string> by_key;
  for (const KeySource& k : s.sync->sources_of()) {
    by_key[k.path] = k.source;
  }
  EXPECT_EQ(by_key["feature_enabled"], env);
  EXPECT_EQ(by_key["api_version"], env);
  EXPECT_EQ(by_key["rate_limit"], over);
  EXPECT_EQ(by_key["timeout_ms"], over);
  const std::string text = s.sync->describe_sources();
  EXPECT_NE(text.find("  feature_enabled: env:MYAPP\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  rate_limit: " + over + "\n"), std::string::npos) << text;
  // Explain names the file position and the variable.
  Explanation e = *s.manager.explain("synced", "feature_enabled");
  EXPECT_NE(e.to_string().find("$MYAPP_FEATURE_ENABLED"), std::string::npos) << e.to_string();
}

TEST(MultiSourceSyncTest, FileChangeResyncsByItselfIntoOneNotification) {
  SeedScenario s;
  Notifications n;
  auto sub = s.manager.subscribe("synced", "", n.fn());
  ASSERT_TRUE(sub);
  const std::uint64_t gen = (*s.manager.snapshot("synced"))->generation();
  testing::atomic_save(s.overrides, R"({"rate_limit": 500, "timeout_ms": 15000,
                                       "feature_enabled": false})");
  ASSERT_TRUE(wait_until([&] { return s.get()->rate_limit == 500; }));
  EXPECT_EQ(s.get()->timeout_ms, 15000);
  EXPECT_TRUE(s.get()->feature_enabled);  // still from the environment
  EXPECT_EQ(s.get()->api_version, "v2");
  ASSERT_TRUE(wait_until([&] { return n.count() == 1; }));
  EXPECT_EQ((*s.manager.snapshot("synced"))->generation(), gen + 1);
  const ChangeSet changes = n.at(0);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].path.to_string(), "rate_limit");
  EXPECT_EQ(changes[0].old_value->as_int(), 200);
  EXPECT_EQ(changes[0].new_value->as_int(), 500);
  EXPECT_EQ(changes[0].old_source, "file:" + s.overrides.string());
  EXPECT_EQ(changes[0].new_source, "file:" + s.overrides.string());
}

TEST(MultiSourceSyncTest, EnvChangeResyncsAtOnce) {
  SeedScenario s;
  Notifications n;
  auto sub = s.manager.subscribe("synced", "", n.fn());
  ASSERT_TRUE(set_env("MYAPP_RATE_LIMIT", "900").ok());
  ASSERT_TRUE(wait_until([&] { return s.get()->rate_limit == 900; }));
  ASSERT_TRUE(wait_until([&] { return n.count() == 1; }));
  const Change c = n.at(0)[0];
  EXPECT_EQ(c.new_source, "env:MYAPP");
  EXPECT_EQ(c.new_value->origin().env_var(), "MYAPP_RATE_LIMIT");
  EXPECT_EQ(c.old_source, "file:" + s.overrides.string());
}

TEST(MultiSourceSyncTest, ChangesToSeveralSourcesTogetherPublishOnce) {
  SeedScenario s;
  Notifications n;
  auto sub = s.manager.subscribe("synced", "", n.fn());
  const std::uint64_t gen = (*s.manager.snapshot("synced"))->generation();
  // A file and a variable changed together (a deploy step), within one window.
  testing::atomic_save(s.overrides, R"({"rate_limit": 300, "timeout_ms": 10000})");
  ASSERT_TRUE(set_env("MYAPP_API_VERSION", "v3").ok());
  ASSERT_TRUE(
      wait_until([&] { return s.get()->rate_limit == 300 && s.get()->api_version == "v3"; }));
  ASSERT_TRUE(wait_until([&] { return n.count() >= 1; }));
  EXPECT_EQ((*s.manager.snapshot("synced"))->generation(), gen + 1);
  EXPECT_EQ(n.count(), 1u);
  EXPECT_EQ(n.at(0).size(), 2u);
}

TEST(MultiSourceSyncTest, EverySnapshotListsEachSourceVersion) {
  SeedScenario s;
  auto versions = [&] {
    std::map<std::string, std::string> out;
    for (const LayerVersion& v : (*s.manager.snapshot("synced"))->layer_versions()) {
      out[v.name] = v.version;
    }
    return out;
  };
  auto before = versions();
  ASSERT_EQ(before.count("file:" + s.primary.string()), 1u);
  ASSERT_EQ(before.count("file:" + s.overrides.string()), 1u);
  ASSERT_EQ(before.count("env:MYAPP"), 1u);
  EXPECT_EQ(before["file:" + s.primary.string()].rfind("xxh3:", 0), 0u);
  ASSERT_TRUE(set_env("MYAPP_API_VERSION", "v9").ok());
  ASSERT_TRUE(wait_until([&] { return s.get()->api_version == "v9"; }));
  auto after = versions();
  EXPECT_NE(after["env:MYAPP"], before["env:MYAPP"]);
  EXPECT_EQ(after["file:" + s.primary.string()], before["file:" + s.primary.string()]);
  // The sync lists its sources with their (lower-wins) priorities.
  auto sources = s.sync->sources();
  ASSERT_EQ(sources.size(), 3u);
  EXPECT_EQ(sources[2], (std::pair<std::string, int>{"env:MYAPP", 10}));
}

TEST(MultiSourceSyncTest, RefusedSourceKeepsLastGoodAndSyncReportsIt) {
  SeedScenario s;
  testing::write_file(s.overrides, R"({"rate_limit": 0})");  // below the minimum
  Result<SnapshotPtr> r = s.sync->sync();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().to_string().find("rate_limit"), std::string::npos);
  EXPECT_EQ(s.get()->rate_limit, 200);
  testing::write_file(s.overrides, R"({"rate_limit": 250})");
  ASSERT_TRUE(s.sync->sync());
  EXPECT_EQ(s.get()->rate_limit, 250);
  EXPECT_EQ(s.get()->timeout_ms, 5000);  // the override file no longer sets it
}

TEST(MultiSourceSyncTest, MissingFileJoinsWhenItAppears) {
  TempDir dir;
  ConfigManager manager;
  ASSERT_TRUE(manager.register_config<SyncedConfig>("synced").ok());
  MultiSourceConfigSync sync("synced", manager);
  ASSERT_TRUE(sync.add_file_source(dir / "later.yaml", 5).ok());
  EXPECT_EQ((*manager.get<SyncedConfig>("synced"))->rate_limit, 100);
  testing::atomic_save(dir / "later.yaml", "rate_limit: 42\n");
  ASSERT_TRUE(wait_until([&] { return (*manager.get<SyncedConfig>("synced"))->rate_limit == 42; }));
  EXPECT_FALSE(sync.add_file_source(dir / "x.json", INT_MAX).ok());
}

TEST(DotenvSourceTest, DotenvFilesAreWatchedLikeAnyFile) {
  TempDir dir;
  auto env = dir.write(".env", "# comment\nrate_limit=10\napi_version=\"v5\"\n");
  ConfigManager manager;
  ASSERT_TRUE(manager.register_config<SyncedConfig>("synced").ok());
  MultiSourceConfigSync sync("synced", manager);
  ASSERT_TRUE(sync.add_file_source(env, 10).ok());
  auto get = [&] { return *manager.get<SyncedConfig>("synced"); };
  EXPECT_EQ(get()->rate_limit, 10);
  EXPECT_EQ(get()->api_version, "v5");
  testing::atomic_save(env, "rate_limit=11\nfeature_enabled=yes\n");
  ASSERT_TRUE(wait_until([&] { return get()->rate_limit == 11; }));
  EXPECT_TRUE(get()->feature_enabled);
  testing::write_file(env, "rate_limit=12\n");
  ASSERT_TRUE(wait_until([&] { return get()->rate_limit == 12; }));
  // A bad value names the file and line; the last good stays.
  testing::write_file(env, "rate_limit=12\ntimeout_ms=soon\n");
  ASSERT_TRUE(wait_until([&] {
    auto st = manager.status("synced");
    return st->sources[0].state == SourceState::kError;
  }));
  const std::string err = manager.status("synced")->sources[0].last_error->to_string();
  EXPECT_NE(err.find(env.string() + ":2:"), std::string::npos) << err;
  EXPECT_EQ(get()->rate_limit, 12);
}

TEST(EnvironmentHazardTest, DocumentedForUsers) {
  // BEHAVIOUR.md item 30: the limits of environment watching are documented
  // where users look.
  const auto doc =
      testing::read_file(std::filesystem::path(LIVECONF_TEST_DATA_DIR).parent_path().parent_path() /
                         "docs" / "environment.md");
  ASSERT_TRUE(doc.has_value());
  EXPECT_NE(doc->find("Another process cannot change"), std::string::npos);
  EXPECT_NE(doc->find("undefined behaviour"), std::string::npos);
  EXPECT_NE(doc->find("set_env"), std::string::npos);
}

}  // namespace
}  // namespace liveconf
