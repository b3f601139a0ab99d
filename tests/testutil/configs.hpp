// Typed configs shared by the bind, store and integration tests.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "liveconf/bind.hpp"

namespace liveconf::testing {

/// The seed's WatchedConfig.
struct WatchedConfig {
  std::string api_key = "default-key";
  int timeout = 30;
  bool enabled = true;
  std::vector<std::string> endpoints;
};

inline void liveconf_describe(Describer<WatchedConfig>& d) {
  d.name("WatchedConfig");
  d.field("api_key", &WatchedConfig::api_key).description("API key").env("API_KEY").sensitive();
  d.field("timeout", &WatchedConfig::timeout).description("Request timeout").range(1, 3600);
  d.field("enabled", &WatchedConfig::enabled).description("Feature enabled");
  d.field("endpoints", &WatchedConfig::endpoints).description("API endpoints");
}

enum class Level { kDebug, kInfo, kWarn };

inline auto liveconf_enum_names(Level) {
  return std::array<std::pair<Level, std::string_view>, 3>{
      {{Level::kDebug, "debug"}, {Level::kInfo, "info"}, {Level::kWarn, "warn"}}};
}

struct Database {
  std::string host = "localhost";
  int port = 5432;
  std::optional<std::string> password;
  std::chrono::milliseconds connect_timeout{250};
};

inline void liveconf_describe(Describer<Database>& d) {
  d.name("Database");
  d.field("host", &Database::host).non_empty();
  d.field("port", &Database::port).range(1, 65535).restart_required();
  d.field("password", &Database::password).sensitive();
  d.field("connect_timeout", &Database::connect_timeout)
      .range(std::chrono::milliseconds(1), std::chrono::minutes(1));
}

struct Route {
  std::string name;
  std::vector<std::string> hosts;
};

inline void liveconf_describe(Describer<Route>& d) {
  d.field("name", &Route::name);
  d.field("hosts", &Route::hosts).merge(MergeStrategy::kUnion);
}

struct ServiceConfig {
  std::string name = "svc";
  Level log_level = Level::kInfo;
  Database db;
  std::vector<Route> routes;
  std::map<std::string, int> limits;
  std::vector<std::string> plugins;
  double ratio = 0.5;
  std::uint16_t workers = 4;
  std::chrono::seconds drain{30};
  std::string mode = "fast";
};

inline void liveconf_describe(Describer<ServiceConfig>& d) {
  d.name("ServiceConfig");
  d.field("name", &ServiceConfig::name).pattern("[a-z][a-z0-9-]*");
  d.field("log_level", &ServiceConfig::log_level);
  d.field("db", &ServiceConfig::db);
  d.field("routes", &ServiceConfig::routes).merge(MergeStrategy::kMergeByKey, "name");
  d.field("limits", &ServiceConfig::limits);
  d.field("plugins", &ServiceConfig::plugins).merge(MergeStrategy::kAppend);
  d.field("ratio", &ServiceConfig::ratio).range(0.0, 1.0);
  d.field("workers", &ServiceConfig::workers);
  d.field("drain", &ServiceConfig::drain);
  d.field("mode", &ServiceConfig::mode).one_of({"fast", "safe"});
  d.validate([](const ServiceConfig& c) -> Status {
    if (c.mode == "fast" && c.workers == 0) {
      return Error(ErrorCode::kValidation, "fast mode needs at least one worker", {},
                   KeyPath("workers"));
    }
    return ok_status();
  });
}

}  // namespace liveconf::testing
