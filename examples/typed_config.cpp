// The seed's WatchedConfig, kept live by a ConfigManager: register it, read it,
// update it from a dict, print what changed, and watch a bad update bounce off
// while the last good config keeps serving.
#include <condition_variable>
#include <iostream>
#include <mutex>

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
  d.field("api_key", &WatchedConfig::api_key).description("API key").sensitive();
  d.field("timeout", &WatchedConfig::timeout).description("Request timeout").range(1, 3600);
  d.field("enabled", &WatchedConfig::enabled).description("Feature enabled");
  d.field("endpoints", &WatchedConfig::endpoints).description("API endpoints");
}

liveconf::Value dict(const std::string& key, int timeout, bool enabled,
                     std::vector<std::string> endpoints) {
  liveconf::Value v = liveconf::Value::object();
  v["api_key"] = key;
  v["timeout"] = timeout;
  v["enabled"] = enabled;
  liveconf::Value list = liveconf::Value::array();
  for (auto& e : endpoints) {
    list.push_back(std::move(e));
  }
  v["endpoints"] = std::move(list);
  return v;
}

}  // namespace example

int main() {
  using example::WatchedConfig;
  liveconf::ConfigManager manager;

  liveconf::Result<WatchedConfig> initial = liveconf::from_dict<WatchedConfig>(
      example::dict("initial-key", 30, true, {"http://api.example.com"}));
  if (!initial || !manager.register_config("watched", *initial).ok()) {
    std::cerr << "cannot register\n";
    return 1;
  }

  // Every published change reaches subscribers as a field-by-field diff.
  std::mutex mu;
  std::condition_variable cv;
  std::uint64_t delivered = 1;
  auto sub = manager.subscribe("watched", "",
                               [&](const liveconf::SnapshotPtr&, const liveconf::SnapshotPtr& now,
                                   const liveconf::ChangeSet& changes) {
                                 std::lock_guard<std::mutex> lk(mu);
                                 std::cout << "Configuration updated (generation "
                                           << now->generation() << "):\n";
                                 for (const liveconf::Change& c : changes) {
                                   std::cout << "  " << c.to_string() << "\n";
                                 }
                                 delivered = now->generation();
                                 cv.notify_all();
                               });
  auto wait_for = [&](std::uint64_t generation) {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return delivered >= generation; });
  };

  std::shared_ptr<const WatchedConfig> c = manager.get<WatchedConfig>("watched").value();
  std::cout << "Initial configuration:\n"
            << "  API Key: " << liveconf::to_dict(*c).find("api_key")->as_string() << "\n"
            << "  Timeout: " << c->timeout << "\n"
            << "  Enabled: " << (c->enabled ? "true" : "false") << "\n";

  if (!manager
           .update("watched",
                   example::dict("updated-key-123", 60, true,
                                 {"http://api.example.com", "http://backup.example.com"}))
           .ok()) {
    return 1;
  }
  wait_for(2);
  if (!manager
           .update("watched",
                   example::dict("final-key-456", 45, false, {"http://new-api.example.com"}))
           .ok()) {
    return 1;
  }
  wait_for(3);

  liveconf::Value bad = liveconf::Value::object();
  bad["timeout"] = 0;
  liveconf::Status refused = manager.update("watched", bad);
  std::cout << "Refused: " << refused.to_string() << "\n";
  std::cout << "Still serving generation " << manager.snapshot("watched").value()->generation()
            << " with timeout " << manager.get<WatchedConfig>("watched").value()->timeout << "\n";

  std::cout << manager.explain("watched", "timeout").value().to_string();
  std::cout << manager.export_config("watched").value();
  return 0;
}
