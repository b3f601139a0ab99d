// The seed's "Multi-Source Synchronization": two JSON files and the
// environment merged by priority (lower number wins), the source of every key
// tracked. Beyond the seed, the sources stay live: changing the override file
// re-syncs by itself, in one snapshot and one notification.
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <unistd.h>

#include "liveconf/liveconf.hpp"

namespace example {

struct SyncedConfig {
  bool feature_enabled = false;
  int rate_limit = 100;
  int timeout_ms = 5000;
  std::string api_version = "v1";
};

inline void liveconf_describe(liveconf::Describer<SyncedConfig>& d) {
  d.name("SyncedConfig");
  d.field("feature_enabled", &SyncedConfig::feature_enabled).description("Feature enabled");
  d.field("rate_limit", &SyncedConfig::rate_limit).description("Rate limit");
  d.field("timeout_ms", &SyncedConfig::timeout_ms).description("Timeout milliseconds");
  d.field("api_version", &SyncedConfig::api_version).description("API version");
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;  // in place, like Path.write_text
}

void print(const SyncedConfig& c) {
  std::cout << "  Feature enabled: " << (c.feature_enabled ? "true" : "false") << "\n"
            << "  Rate limit: " << c.rate_limit << "\n"
            << "  Timeout: " << c.timeout_ms << "\n"
            << "  API version: " << c.api_version << "\n";
}

// The seed's sync_configuration() prints what it did; so does ours.
std::shared_ptr<const SyncedConfig> sync_and_report(liveconf::MultiSourceConfigSync& sync) {
  std::cout << "Synchronizing configuration from " << sync.sources().size() << " sources\n";
  auto config = sync.sync_configuration<SyncedConfig>();
  if (!config) {
    std::cout << "Refused: " << config.error().to_string() << "\n";
    return nullptr;
  }
  std::cout << "Configuration sources:\n" << sync.describe_sources();
  return *config;
}

}  // namespace example

int main() {
  namespace fs = std::filesystem;
  // Relative paths keep the printed source names short and the output stable.
  const fs::path dir =
      fs::temp_directory_path() / ("liveconf-config-sync-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::current_path(dir);
  example::write_text("config.json", R"({
  "feature_enabled": false,
  "rate_limit": 100,
  "timeout_ms": 5000,
  "api_version": "v1"
})");
  example::write_text("overrides.json", R"({
  "rate_limit": 200,
  "timeout_ms": 10000
})");
  if (!liveconf::update_env({{"MYAPP_FEATURE_ENABLED", "true"}, {"MYAPP_API_VERSION", "v2"}})
           .ok()) {
    return 1;
  }

  liveconf::ConfigManager manager;
  if (!manager.register_config<example::SyncedConfig>("synced", example::SyncedConfig{}).ok()) {
    return 1;
  }
  liveconf::MultiSourceConfigSync sync("synced", manager);
  bool ok = sync.add_file_source("config.json", 30).ok() &&     // lowest priority
            sync.add_file_source("overrides.json", 20).ok() &&  // medium priority
            sync.add_env_source("MYAPP", 10).ok();              // highest priority
  if (!ok) {
    return 1;
  }

  std::cout << "Performing initial synchronization...\n";
  if (auto config = example::sync_and_report(sync)) {
    std::cout << "\nFinal synchronized configuration:\n";
    example::print(*config);
  }

  std::mutex mu;
  std::condition_variable cv;
  int notifications = 0;
  auto sub = manager.subscribe("synced", "",
                               [&](const liveconf::SnapshotPtr&, const liveconf::SnapshotPtr&,
                                   const liveconf::ChangeSet& changes) {
                                 std::lock_guard<std::mutex> lk(mu);
                                 std::cout << "Re-synchronized automatically:\n";
                                 for (const liveconf::Change& c : changes) {
                                   std::cout << "  " << c.to_string() << " (" << c.new_source
                                             << ")\n";
                                 }
                                 ++notifications;
                                 cv.notify_all();
                               });

  std::cout << "\nSimulating configuration source changes...\n";
  example::write_text("overrides.json", R"({
  "rate_limit": 500,
  "timeout_ms": 15000,
  "feature_enabled": false
})");
  {
    std::unique_lock<std::mutex> lk(mu);
    ok = cv.wait_for(lk, std::chrono::seconds(10), [&] { return notifications >= 1; });
  }

  // The seed re-syncs by hand; here that finds nothing new to publish.
  if (auto config = example::sync_and_report(sync)) {
    std::cout << "\nAfter file update:\n";
    example::print(*config);
  }
  {
    std::lock_guard<std::mutex> lk(mu);
    std::cout << "\nNotifications: " << notifications << "\n";
  }
  fs::current_path(fs::temp_directory_path());
  fs::remove_all(dir);
  return ok ? 0 : 1;
}
