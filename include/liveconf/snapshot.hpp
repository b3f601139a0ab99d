// File: liveconf/snapshot.hpp
//
// A Snapshot is one published, immutable state of a configuration: the merged
// tree (every node with its origin), the typed object bound from it, the
// layers it was merged from with their versions, and a generation number that
// grows by one with every publish.
//
//   std::shared_ptr<const liveconf::Snapshot> s = manager.snapshot("app").value();
//   s->generation();                 // 7
//   s->find("server.port")->as_int(); // 8080
//   s->explain("server.port").to_string();
//
// Thread-safety: immutable; share it freely (std::shared_ptr<const Snapshot>).
// Hold one snapshot per logical operation so all its reads agree, then fetch
// the current one again.
#pragma once

#include <cassert>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <typeinfo>
#include <vector>

#include "liveconf/diff.hpp"
#include "liveconf/export.hpp"
#include "liveconf/merge.hpp"
#include "liveconf/status.hpp"
#include "liveconf/value.hpp"

namespace liveconf {

/// A C++ type's identity that holds across shared objects. It compares
/// std::type_info, never the address of a static in an inline template: with
/// hidden visibility every shared object has its own copy of such a static,
/// so a config registered in one (or inside libliveconf.so, register_schema's
/// Value) would not be found by get<T>() in another. libstdc++ compares type
/// names; libc++ on x86-64 Linux compares type_info addresses, so there a
/// config type shared across shared objects needs default visibility.
class TypeId {
 public:
  constexpr TypeId() noexcept = default;
  template <typename T>
  [[nodiscard]] static TypeId of() noexcept {
    return TypeId(typeid(T));
  }
  [[nodiscard]] bool empty() const noexcept { return info_ == nullptr; }
  /// The implementation's name for the type (mangled with GCC and Clang).
  [[nodiscard]] const char* name() const noexcept { return info_ ? info_->name() : ""; }
  friend bool operator==(const TypeId& a, const TypeId& b) noexcept {
    return a.info_ == b.info_ || (a.info_ != nullptr && b.info_ != nullptr && *a.info_ == *b.info_);
  }

 private:
  explicit TypeId(const std::type_info& info) noexcept : info_(&info) {}
  const std::type_info* info_ = nullptr;
};

/// A layer's identity in a snapshot.
struct LayerVersion {
  std::string name;
  int priority = 0;
  std::string version;
};

/// Set on a snapshot published by ConfigManager::pin(): what it serves and
/// until when. The sources' changes wait behind it.
struct PinInfo {
  std::uint64_t pinned_generation = 0;  // whose content it serves (0: not from a journal)
  std::optional<std::chrono::system_clock::time_point> expires;  // none: until unpin()
  std::string reason;
};

/// Set on a snapshot published by ConfigManager::revert(): generation `from`
/// turned unhealthy within its bake time and this one serves the content of
/// `to`, the last generation that passed its bake (liveconf::HealthGate).
struct RevertInfo {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  std::string reason;                    // the failed check's message
  std::vector<std::string> quarantined;  // the sources whose content was set aside
};

namespace detail {
class SnapshotRecycler;
}  // namespace detail

class LIVECONF_API Snapshot {
 public:
  /// Everything a snapshot holds; filled by the store.
  struct Parts {
    std::string config_name;
    std::uint64_t generation = 0;
    Value tree;
    std::vector<std::shared_ptr<const Layer>> layers;
    std::shared_ptr<const void> typed;  // the bound T, or null for untyped configs
    TypeId type;                        // the bound object's type (empty for untyped configs)
    SensitivePaths sensitive;
    std::shared_ptr<const MergePolicies> policies;  // null: none (every array replaced)
    std::vector<Error> warnings;                    // unknown keys and similar
    std::vector<Change> pending_restart;            // restart-required changes waiting (masked)
    std::optional<PinInfo> pin;                     // set when ConfigManager::pin() published it
    std::optional<RevertInfo> revert;               // set when ConfigManager::revert() published it
    std::chrono::system_clock::time_point published_at;
  };

  explicit Snapshot(Parts parts) : parts_(std::move(parts)) {}

  [[nodiscard]] const std::string& config_name() const noexcept { return parts_.config_name; }
  /// 1 for the first publish, +1 for each later one.
  [[nodiscard]] std::uint64_t generation() const noexcept { return parts_.generation; }
  /// The merged tree with real values (secrets included: this is the
  /// application's own config). Use masked_tree() for anything shown to people.
  [[nodiscard]] const Value& tree() const noexcept { return parts_.tree; }
  [[nodiscard]] const Value* find(const KeyPath& path) const noexcept {
    return parts_.tree.find(path);
  }
  /// The tree with secrets replaced by "***".
  [[nodiscard]] Value masked_tree() const;
  /// The layers, lowest priority first, as they were merged.
  [[nodiscard]] std::span<const std::shared_ptr<const Layer>> layers() const noexcept {
    return parts_.layers;
  }
  /// Each layer's name, priority and version (content hash, revision, counter).
  [[nodiscard]] std::vector<LayerVersion> layer_versions() const;
  /// Every layer's value for `path` and which one won; secrets masked.
  [[nodiscard]] Explanation explain(const KeyPath& path) const;
  [[nodiscard]] const SensitivePaths& sensitive() const noexcept { return parts_.sensitive; }
  /// The array merge policies the tree was merged with (the config's schema).
  [[nodiscard]] const MergePolicies& merge_policies() const noexcept;
  /// Warnings found while binding (unknown keys, with suggestions).
  [[nodiscard]] const std::vector<Error>& warnings() const noexcept { return parts_.warnings; }
  /// Restart-required fields whose configured value differs from the running
  /// one: old is the running value, new the configured one (secrets masked).
  [[nodiscard]] const std::vector<Change>& pending_restart() const noexcept {
    return parts_.pending_restart;
  }
  /// Set when this snapshot was published by ConfigManager::pin().
  [[nodiscard]] const std::optional<PinInfo>& pin() const noexcept { return parts_.pin; }
  /// Set when this snapshot was published by ConfigManager::revert().
  [[nodiscard]] const std::optional<RevertInfo>& revert() const noexcept { return parts_.revert; }
  [[nodiscard]] std::chrono::system_clock::time_point published_at() const noexcept {
    return parts_.published_at;
  }
  /// The type the tree was bound to (ConfigManager::register_config<T>).
  [[nodiscard]] TypeId type() const noexcept { return parts_.type; }
  /// The bound object if it is a T, else nullptr.
  template <typename T>
  [[nodiscard]] const T* bound_if() const noexcept {
    return type() == TypeId::of<T>() ? static_cast<const T*>(parts_.typed.get()) : nullptr;
  }
  /// The bound object, for callers that checked the type once already
  /// (Reader<T>, Config<T>: the type is checked where the handle is made, so
  /// the read path pays nothing for it here; debug builds assert it).
  template <typename T>
  [[nodiscard]] const T& bound() const noexcept {
    assert(type() == TypeId::of<T>() && parts_.typed != nullptr);
    return *static_cast<const T*>(parts_.typed.get());
  }

 private:
  // Takes the layer list of a snapshot being destroyed, for the next one
  // (src/store/snapshot_recycler.hpp).
  friend class detail::SnapshotRecycler;
  Parts parts_;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace liveconf
