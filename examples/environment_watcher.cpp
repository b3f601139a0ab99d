// The seed's "Environment Change Detection": a typed config read from the
// environment (explicit variable names, a per-field parser), and an
// EnvironmentWatcher that reacts to changed variables with (old, new) values.
//
// Unlike the seed, nothing here sleeps: liveconf::update_env() changes the
// variables under liveconf's environment lock and wakes the watcher at once,
// and each group of changes arrives in one callback.
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>

#include "liveconf/liveconf.hpp"

namespace example {

struct WatchedEnvConfig {
  std::string api_url = "http://localhost:8080";
  int max_workers = 4;
  bool debug_enabled = false;
  std::string log_level = "INFO";
};

inline void liveconf_describe(liveconf::Describer<WatchedEnvConfig>& d) {
  d.name("WatchedEnvConfig");
  d.field("api_url", &WatchedEnvConfig::api_url).env("API_URL").description("API endpoint URL");
  d.field("max_workers", &WatchedEnvConfig::max_workers)
      .env("MAX_WORKERS")
      .description("Maximum worker threads");
  d.field("debug_enabled", &WatchedEnvConfig::debug_enabled)
      .env("DEBUG_ENABLED")
      .description("Enable debug mode")
      .parser([](std::string_view x) -> liveconf::Result<bool> {
        std::string l(x);
        for (char& c : l) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        return l == "true" || l == "1" || l == "yes" || l == "on";
      });
  d.field("log_level", &WatchedEnvConfig::log_level).env("LOG_LEVEL").description("Logging level");
}

void print(const WatchedEnvConfig& c) {
  std::cout << "  API URL: " << c.api_url << "\n"
            << "  Max workers: " << c.max_workers << "\n"
            << "  Debug: " << (c.debug_enabled ? "true" : "false") << "\n"
            << "  Log level: " << c.log_level << "\n";
}

}  // namespace example

int main() {
  // Initial environment setup.
  if (!liveconf::update_env({{"API_URL", "http://localhost:8080"},
                             {"MAX_WORKERS", "4"},
                             {"DEBUG_ENABLED", "false"},
                             {"LOG_LEVEL", "INFO"}})
           .ok()) {
    return 1;
  }
  auto config = liveconf::from_env<example::WatchedEnvConfig>();
  if (!config) {
    std::cerr << config.error().to_string() << "\n";
    return 1;
  }
  std::cout << "Initial configuration:\n";
  example::print(*config);

  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  liveconf::EnvironmentWatcher watcher(std::chrono::seconds(1));
  watcher.watch_vars({"API_URL", "MAX_WORKERS", "DEBUG_ENABLED", "LOG_LEVEL"},
                     [&](const liveconf::EnvChanges& changes) {
                       std::lock_guard<std::mutex> lk(mu);
                       std::cout << "\nEnvironment configuration changed:\n";
                       for (const auto& [name, change] : changes) {
                         std::cout << "  " << name << ": " << change.old_value.value_or("(unset)")
                                   << " -> " << change.new_value.value_or("(unset)") << "\n";
                       }
                       // Reload the configuration from the environment.
                       auto updated = liveconf::from_env<example::WatchedEnvConfig>();
                       if (updated) {
                         std::cout << "Updated configuration:\n";
                         example::print(*updated);
                       } else {
                         std::cout << "Refused: " << updated.error().to_string() << "\n";
                       }
                       ++calls;
                       cv.notify_all();
                     });
  if (!watcher.start().ok()) {
    return 1;
  }
  std::cout << "Started environment watcher (poll interval: 1.0s)\n";
  auto wait_for = [&](int n) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(10), [&] { return calls >= n; });
  };

  std::cout << "\nSimulating environment variable changes...\n";
  bool ok =
      liveconf::update_env({{"DEBUG_ENABLED", "true"}, {"LOG_LEVEL", "DEBUG"}}).ok() && wait_for(1);
  ok =
      ok &&
      liveconf::update_env({{"API_URL", "http://api.production.com"}, {"MAX_WORKERS", "8"}}).ok() &&
      wait_for(2);
  ok = ok && liveconf::set_env("LOG_LEVEL", "ERROR").ok() && wait_for(3);
  watcher.stop();
  std::cout << "Stopped environment watcher\n";
  return ok ? 0 : 1;
}
