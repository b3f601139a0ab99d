// The seed's "Basic File Watcher": a typed config backed by one JSON file.
// Every save of the file is picked up, validated and published, and the
// subscriber prints each changed field as `field: old -> new`.
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <unistd.h>

#include "liveconf/liveconf.hpp"

namespace example {

struct WatchedConfig {
  std::string api_key = "default-key";
  int timeout = 30;
  bool enabled = true;
  std::vector<std::string> endpoints;
};

inline void liveconf_describe(liveconf::Describer<WatchedConfig>& d) {
  d.name("WatchedConfig");
  d.field("api_key", &WatchedConfig::api_key).description("API key");
  d.field("timeout", &WatchedConfig::timeout).description("Request timeout").range(1, 3600);
  d.field("enabled", &WatchedConfig::enabled).description("Feature enabled");
  d.field("endpoints", &WatchedConfig::endpoints).description("API endpoints");
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;  // an in-place save, like Path.write_text
}

}  // namespace example

int main() {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("liveconf-file-watcher-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path config_file = dir / "watched_config.json";
  example::write_text(config_file, R"({
  "api_key": "initial-key",
  "timeout": 30,
  "enabled": true,
  "endpoints": ["http://api.example.com"]
})");

  liveconf::ConfigManager manager;
  liveconf::FileSourceOptions file;
  file.path = config_file;
  file.debounce.quiet = std::chrono::milliseconds(100);
  if (!manager.register_config<example::WatchedConfig>("watched").ok() ||
      !manager.add_source("watched", liveconf::make_file_source(file).value()).ok()) {
    std::cerr << "cannot load " << config_file << "\n";
    return 1;
  }

  std::mutex mu;
  std::condition_variable cv;
  int updates = 0;
  auto sub = manager.subscribe(
      "watched", "",
      [&](const liveconf::SnapshotPtr&, const liveconf::SnapshotPtr&,
          const liveconf::ChangeSet& changes) {
        std::lock_guard<std::mutex> lk(mu);
        std::cout << "Configuration updated:\n";
        for (const liveconf::Change& c : changes) {
          std::cout << "  " << c.path.to_string() << ": "
                    << (c.old_value ? c.old_value->to_display_string() : "N/A") << " -> "
                    << (c.new_value ? c.new_value->to_display_string() : "N/A") << "\n";
        }
        ++updates;
        cv.notify_all();
      });
  auto wait_for_update = [&](int n) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(10), [&] { return updates >= n; });
  };

  std::cout << "Watching configuration file: watched_config.json\n";
  auto initial = manager.get<example::WatchedConfig>("watched").value();
  std::cout << "Initial configuration:\n"
            << "  API Key: " << initial->api_key << "\n"
            << "  Timeout: " << initial->timeout << "\n"
            << "  Enabled: " << (initial->enabled ? "true" : "false") << "\n";

  std::cout << "\nSimulating configuration changes...\n";
  example::write_text(config_file, R"({
  "api_key": "updated-key-123",
  "timeout": 60,
  "enabled": true,
  "endpoints": ["http://api.example.com", "http://backup.example.com"]
})");
  bool ok = wait_for_update(1);
  example::write_text(config_file, R"({
  "api_key": "final-key-456",
  "timeout": 45,
  "enabled": false,
  "endpoints": ["http://new-api.example.com"]
})");
  ok = ok && wait_for_update(2);
  fs::remove_all(dir);
  return ok ? 0 : 1;
}
