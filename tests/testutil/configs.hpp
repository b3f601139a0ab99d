// Typed configs shared by the bind, store and integration tests.
#pragma once

#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
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

namespace liveconf::testing {

/// The seed's WatchedEnvConfig: explicit variable names and per-field parsers.
struct WatchedEnvConfig {
  std::string api_url = "http://localhost:8080";
  int max_workers = 4;
  bool debug_enabled = false;
  std::string log_level = "INFO";
};

inline void liveconf_describe(Describer<WatchedEnvConfig>& d) {
  d.name("WatchedEnvConfig");
  d.field("api_url", &WatchedEnvConfig::api_url).env("API_URL").description("API endpoint URL");
  d.field("max_workers", &WatchedEnvConfig::max_workers)
      .env("MAX_WORKERS")
      .description("Maximum worker threads")
      .min(1);
  d.field("debug_enabled", &WatchedEnvConfig::debug_enabled)
      .env("DEBUG_ENABLED")
      .description("Enable debug mode")
      .parser([](std::string_view x) -> Result<bool> {
        std::string l(x);
        for (char& c : l) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        return l == "true" || l == "1" || l == "yes" || l == "on";
      });
  d.field("log_level", &WatchedEnvConfig::log_level).env("LOG_LEVEL").description("Logging level");
}

/// The seed's SyncedConfig.
struct SyncedConfig {
  bool feature_enabled = false;
  int rate_limit = 100;
  int timeout_ms = 5000;
  std::string api_version = "v1";
};

inline void liveconf_describe(Describer<SyncedConfig>& d) {
  d.name("SyncedConfig");
  d.field("feature_enabled", &SyncedConfig::feature_enabled).description("Feature enabled");
  d.field("rate_limit", &SyncedConfig::rate_limit).description("Rate limit").min(1);
  d.field("timeout_ms", &SyncedConfig::timeout_ms).description("Timeout milliseconds");
  d.field("api_version", &SyncedConfig::api_version).description("API version");
}

/// Every kind of field the environment can set.
struct EnvDb {
  std::string host = "localhost";
  std::uint16_t port = 5432;
  std::string password;
};

inline void liveconf_describe(Describer<EnvDb>& d) {
  d.field("host", &EnvDb::host);
  d.field("port", &EnvDb::port);
  d.field("password", &EnvDb::password).sensitive();
}

struct EnvConfig {
  bool debug = false;
  std::int8_t small = 0;
  double ratio = 0.5;
  std::chrono::milliseconds timeout{1000};
  std::vector<std::string> hosts;
  std::vector<int> ports;
  std::map<std::string, std::string> labels;
  std::map<std::string, EnvDb> replicas;
  EnvDb db;
  std::string api_key;
  std::string log_level = "info";
  Value extra;
};

inline void liveconf_describe(Describer<EnvConfig>& d) {
  d.name("EnvConfig");
  d.field("debug", &EnvConfig::debug);
  d.field("small", &EnvConfig::small);
  d.field("ratio", &EnvConfig::ratio);
  d.field("timeout", &EnvConfig::timeout);
  d.field("hosts", &EnvConfig::hosts);
  d.field("ports", &EnvConfig::ports);
  d.field("labels", &EnvConfig::labels);
  d.field("replicas", &EnvConfig::replicas);
  d.field("db", &EnvConfig::db);
  d.field("api_key", &EnvConfig::api_key).env("SERVICE_API_KEY").sensitive();
  d.field("log_level", &EnvConfig::log_level).one_of({"debug", "info", "warn"});
  d.field("extra", &EnvConfig::extra);
}

}  // namespace liveconf::testing
