// The seed's "Multi-File Configuration Watching": an app config (JSON), a
// database config (YAML) and feature flags (JSON) in one directory, each with
// its own debounce delay, each reporting what changed when it is saved.
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <unistd.h>

#include "liveconf/liveconf.hpp"

namespace {

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

}  // namespace

int main() {
  namespace fs = std::filesystem;
  using std::chrono::milliseconds;
  const fs::path dir =
      fs::temp_directory_path() / ("liveconf-multi-config-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  write_text(dir / "app.json", R"({"name": "MyApp", "version": "1.0.0", "debug": false})");
  write_text(dir / "database.yml", "host: localhost\nport: 5432\ndatabase: myapp\n");
  write_text(dir / "features.json", R"({"new_ui": false, "analytics": true, "caching": true})");

  struct Watched {
    std::string config;  // config name
    std::string label;   // what the seed prints
    std::string file;
    milliseconds debounce;
  };
  const std::vector<Watched> watched = {
      {"app", "App configuration", "app.json", milliseconds(300)},
      {"database", "Database configuration", "database.yml", milliseconds(500)},
      {"features", "Feature flags", "features.json", milliseconds(200)},
  };

  liveconf::ConfigManager manager;
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, int> reloads;
  std::vector<liveconf::Subscription> subs;
  std::cout << "Watching configuration directory: multi_config\n";
  for (const Watched& w : watched) {
    liveconf::FileSourceOptions file;
    file.path = dir / w.file;
    file.debounce.quiet = w.debounce;  // the seed's per-file debounce_delay
    if (!manager.register_untyped(w.config).ok() ||
        !manager.add_source(w.config, liveconf::make_file_source(file).value()).ok()) {
      std::cerr << "cannot load " << w.file << "\n";
      return 1;
    }
    std::cout << w.label << " loaded:\n";
    for (const auto& [key, value] : manager.snapshot(w.config).value()->tree().as_object()) {
      std::cout << "  " << key << ": " << value.to_display_string() << "\n";
    }
    subs.push_back(manager
                       .subscribe(w.config, "",
                                  [&, label = w.label, config = w.config](
                                      const liveconf::SnapshotPtr&, const liveconf::SnapshotPtr&,
                                      const liveconf::ChangeSet& changes) {
                                    std::lock_guard<std::mutex> lk(mu);
                                    std::cout << label << " reloaded:\n";
                                    for (const liveconf::Change& c : changes) {
                                      std::cout << "  " << c.to_string() << "\n";
                                    }
                                    ++reloads[config];
                                    cv.notify_all();
                                  })
                       .value());
  }
  auto wait_for = [&](const std::string& config) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(10), [&] { return reloads[config] >= 1; });
  };

  std::cout << "\nSimulating configuration changes...\n";
  write_text(dir / "app.json", R"({"name": "MyApp", "version": "1.1.0", "debug": true})");
  bool ok = wait_for("app");
  write_text(dir / "features.json",
             R"({"new_ui": true, "analytics": true, "caching": false, "beta_features": true})");
  ok = ok && wait_for("features");
  write_text(dir / "database.yml",
             "host: prod-db.example.com\nport: 5432\ndatabase: myapp_prod\nssl: true\n");
  ok = ok && wait_for("database");
  subs.clear();
  fs::remove_all(dir);
  return ok ? 0 : 1;
}
