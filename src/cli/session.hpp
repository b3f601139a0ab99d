// The sources an operator names on the command line, loaded into one
// ConfigManager config ("cli"): every subcommand (watch, get, explain, check,
// render, env-report) starts from a Session.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "liveconf/env.hpp"
#include "liveconf/store.hpp"
#if LIVECONF_CLI_WITH_ETCD
#include "liveconf/etcd.hpp"
#endif

#include "cli/schema_file.hpp"

namespace liveconf::cli {

inline constexpr std::string_view kConfigName = "cli";

/// One source option, in command-line order.
struct SourceSpec {
  enum class Kind : std::uint8_t { kFile, kDir, kEnv, kDotenv, kSet, kEtcd } kind = Kind::kFile;
  std::string value;  // path, prefix, key=value, or etcd endpoints (comma-separated)
};

struct SessionOptions {
  std::vector<SourceSpec> sources;
  std::optional<std::chrono::milliseconds> debounce;
  bool poll = false;
  bool watch = true;                 // false: load once (get, explain, check, render)
  std::string schema_path;           // --schema
  std::vector<std::string> secrets;  // --secret KEY
  // --etcd sources: the key prefix and connection settings they share.
  std::string etcd_prefix;  // --prefix
  std::string etcd_user;    // --etcd-user; the password comes from $LIVECONF_ETCD_PASSWORD
  std::string etcd_password;
  std::string etcd_ca;                 // --etcd-ca FILE (TLS)
  bool etcd_document = false;          // --etcd-document: the prefix is one key holding a document
  std::string etcd_cache;              // --etcd-cache FILE: offline boot
  std::string etcd_cache_key;          // --etcd-cache-key FILE
  ManagerOptions manager;              // log and source events
  std::uint64_t first_generation = 1;  // continues a journal's numbering (watch --journal)
};

#if LIVECONF_CLI_WITH_ETCD
/// The connection `--etcd A,B --etcd-user U --etcd-ca F` describe (the
/// password comes from $LIVECONF_ETCD_PASSWORD, read by the caller).
[[nodiscard]] EtcdConnection etcd_connection(std::string_view endpoints, const std::string& user,
                                             const std::string& password, const std::string& ca);
#endif

/// The name a source has in output: file:PATH, dotenv:PATH, env:PREFIX, etcd:PREFIX, set.
[[nodiscard]] std::string source_name(const SourceSpec& spec);

/// The Source for one spec (not --set). `schema` is for an env source used
/// without a manager (check); a manager supplies its own.
[[nodiscard]] Result<std::unique_ptr<Source>> make_source(const SourceSpec& spec, int priority,
                                                          const SessionOptions& options,
                                                          const Schema* schema);

/// Priority of the --set layer: above every source.
inline constexpr int kSetPriority = 1 << 20;

class Session {
 public:
  /// Registers the config and adds every source in order (priority = order,
  /// later wins; --set above all). Errors: the first source that does not
  /// load, or a bad --set / --schema, named.
  [[nodiscard]] static Result<std::unique_ptr<Session>> open(SessionOptions options);

  [[nodiscard]] ConfigManager& manager() noexcept { return *manager_; }
  [[nodiscard]] SnapshotPtr snapshot() const;
  /// The config as the program sees it: the schema-converted tree when a
  /// schema is given, else the merged tree; with secrets masked unless `reveal`.
  [[nodiscard]] static Value config_of(const SnapshotPtr& snapshot, bool reveal = false);
  [[nodiscard]] const SchemaFile* schema() const noexcept { return schema_ ? &*schema_ : nullptr; }
  [[nodiscard]] const std::vector<std::string>& source_names() const noexcept { return names_; }
  /// The --etcd source (the manager owns it), or null.
  [[nodiscard]] const Source* etcd_source() const noexcept { return etcd_; }

 private:
  Session() = default;
  std::optional<SchemaFile> schema_;
  std::unique_ptr<ConfigManager> manager_;
  std::vector<std::string> names_;
  const Source* etcd_ = nullptr;
};

/// "a.b=1" -> path a.b, value 1 (JSON scalars and documents; anything else a string).
[[nodiscard]] Result<std::pair<KeyPath, Value>> parse_set(std::string_view text);

}  // namespace liveconf::cli
