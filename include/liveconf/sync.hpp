// File: liveconf/sync.hpp
//
// MultiSourceConfigSync is the seed's multi-source synchroniser on top of a
// ConfigManager: files, the environment and remote sources, each with a
// priority where the LOWER number wins (the seed's convention), merged key by
// key, with the source of every key tracked.
//
//   liveconf::MultiSourceConfigSync sync("synced", manager);
//   liveconf::Status st = sync.add_file_source("/etc/app/config.json", 30);  // lowest priority
//   if (st.ok()) {
//     st = sync.add_file_source("/etc/app/overrides.json", 20);
//   }
//   if (st.ok()) {
//     st = sync.add_env_source("MYAPP", 10);                                 // highest priority
//   }
//   if (!st.ok()) {
//     std::cerr << st.to_string() << "\n";
//   }
//   // value() throws liveconf::BadResultAccess, carrying the Error, if the sync failed.
//   std::shared_ptr<const SyncedConfig> config = sync.sync_configuration<SyncedConfig>().value();
//   std::cout << sync.describe_sources();   // "feature_enabled: env:MYAPP" ...
//
// Beyond the seed: sources stay live. Any source changing re-syncs by itself
// (sync_configuration() is only needed to force a re-read), into one snapshot
// and one notification; changes to several sources arriving within the same
// debounce window coalesce into one; every snapshot lists each source's
// version (Snapshot::layer_versions()). Merging is deep (nested keys merge
// too); for the seed's flat configs that is its "first source wins per key".
//
// Lifetime: the manager must outlive the MultiSourceConfigSync. The sources
// belong to the manager: they keep running after this object is gone, until
// removed with ConfigManager::remove_source.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "liveconf/env.hpp"
#include "liveconf/export.hpp"
#include "liveconf/source.hpp"
#include "liveconf/status.hpp"
#include "liveconf/store.hpp"

namespace liveconf {

struct SyncOptions {
  /// Applied to every source the sync creates, so changes to several sources
  /// made together fall into one window and publish once.
  Debounce debounce{std::chrono::milliseconds(100), std::chrono::milliseconds(2000)};
  /// Files that do not exist yet contribute nothing until they appear (the
  /// seed's loader returns {} for a missing file).
  bool optional_files = true;
};

/// Where one key of the current config came from.
struct KeySource {
  std::string path;      // "db.port"
  std::string source;    // "file:/etc/app/overrides.json", "env:MYAPP", "defaults"
  std::string location;  // "/etc/app/overrides.json:3:17", "$MYAPP_DB__PORT"
};

class LIVECONF_API MultiSourceConfigSync {
 public:
  /// Sources join config `config_name`, which must be registered in `manager`.
  MultiSourceConfigSync(std::string config_name, ConfigManager& manager, SyncOptions options = {});

  /// The layer priority (higher wins) used for a sync priority (lower wins).
  [[nodiscard]] static int layer_priority(int priority) noexcept { return -priority; }

  /// Adds a JSON/YAML/TOML/INI/.env file (or a conf.d directory). `file`
  /// supplies the remaining options (format, watch mode, limits).
  /// Errors: kValidation (priority out of range, duplicate source), the
  /// initial load's error.
  [[nodiscard]] Status add_file_source(std::filesystem::path path, int priority = 10,
                                       FileSourceOptions file = {});
  /// Adds the variables PREFIX_* (names from the config's schema, env.hpp).
  /// Errors: as add_file_source.
  [[nodiscard]] Status add_env_source(std::string prefix, int priority = 20,
                                      EnvSourceOptions env = {});
  /// Adds any source (a remote store): `make` receives the layer priority to
  /// give its layers. Errors: what `make` returns, or as add_file_source.
  [[nodiscard]] Status add_source(
      int priority, const std::function<Result<std::unique_ptr<Source>>(int layer_priority)>& make);

  /// Re-reads every source now into one snapshot and returns it (the seed's
  /// sync_configuration()). Errors: kNotFound; a source's error when its new
  /// content was refused (the snapshot then keeps its last good layers).
  [[nodiscard]] Result<SnapshotPtr> sync();
  /// The same, returning the typed config.
  template <typename T>
  [[nodiscard]] Result<std::shared_ptr<const T>> sync_configuration() {
    if (Result<SnapshotPtr> s = sync(); !s) {
      return std::move(s).error();
    }
    return manager_.get<T>(config_name_);
  }

  /// Every leaf key of the current config with the source it came from, in
  /// key order. Names only: secret values never appear.
  [[nodiscard]] std::vector<KeySource> sources_of() const;
  /// sources_of() as lines "  <key>: <source>"; `include_defaults` false (the
  /// seed's view) leaves out keys no source set.
  [[nodiscard]] std::string describe_sources(bool include_defaults = false) const;
  /// Names of the sources added, with their sync priority, in the order added.
  [[nodiscard]] std::vector<std::pair<std::string, int>> sources() const;
  [[nodiscard]] const std::string& config_name() const noexcept { return config_name_; }

 private:
  Status add(std::unique_ptr<Source> source, int priority);
  static Status check_priority(int priority);

  std::string config_name_;
  ConfigManager& manager_;
  SyncOptions options_;
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, int>> sources_;  // guarded by mu_
};

}  // namespace liveconf
