// File: liveconf/merge.hpp
//
// Layers and how they merge. A configuration is an ordered stack of layers
// (defaults, files, environment, remote, runtime overrides), each a Value tree
// with a priority. The merged tree is built from the lowest priority upwards:
// objects deep-merge key by key, everything else is replaced by the higher
// layer. Arrays are replaced whole by default; a MergePolicy declared for a
// path (usually in a typed config's schema) can append, union or merge them by
// a key field instead.
//
//   std::vector<liveconf::Layer> layers = {
//       {"defaults", 0, defaults_tree, "v1"},
//       {"file:app.yaml", 10, file_tree, "xxh3:9a1c..."},
//   };
//   liveconf::Value merged = liveconf::merge_layers(layers, {});
//   liveconf::Explanation e = liveconf::explain(layers, {}, "server.port");
//   // e.layers: every layer's value for server.port, highest first; e.winner: which one won.
//
// Every node of the merged tree keeps the Origin it had in its layer, so
// provenance survives merging. Merge semantics in full: docs/merge-semantics.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "liveconf/export.hpp"
#include "liveconf/path.hpp"
#include "liveconf/value.hpp"

namespace liveconf {

/// How an array from a higher layer combines with the same array below it.
enum class MergeStrategy : std::uint8_t {
  kReplace,     // the higher layer's array replaces the lower one (default)
  kAppend,      // lower elements, then higher elements
  kUnion,       // like kAppend, skipping elements equal to one already present
  kMergeByKey,  // arrays of objects: elements with the same `key` field deep-merge,
                // others are appended in order
};

/// A strategy, plus the key field for kMergeByKey.
struct MergePolicy {
  MergeStrategy strategy = MergeStrategy::kReplace;
  std::string key;  // only for kMergeByKey, e.g. "name"

  friend bool operator==(const MergePolicy&, const MergePolicy&) = default;
};

/// Policies by path. A "*" segment matches any key or array index, so
/// "routes.*.hosts" covers the hosts list of every route.
class LIVECONF_API MergePolicies {
 public:
  void set(KeyPath path, MergePolicy policy);
  /// The policy for `path`, or nullptr (meaning kReplace).
  [[nodiscard]] const MergePolicy* find(const KeyPath& path) const noexcept;
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  /// Every (path, policy), in the order they were set.
  [[nodiscard]] const std::vector<std::pair<KeyPath, MergePolicy>>& entries() const noexcept {
    return entries_;
  }

 private:
  std::vector<std::pair<KeyPath, MergePolicy>> entries_;
};

/// True when `pattern` (which may contain "*" segments) matches `path` exactly.
[[nodiscard]] LIVECONF_API bool path_matches(const KeyPath& pattern, const KeyPath& path) noexcept;

/// One layer of a configuration stack.
struct Layer {
  /// Unique name, also shown as the source of its values: "defaults",
  /// "file:/etc/app.yaml", "env:APP", "override".
  std::string name;
  /// Higher wins. Between equal priorities, the layer later in the stack wins.
  int priority = 0;
  /// The layer's tree; normally an object. A null tree contributes nothing.
  Value data;
  /// Identifies this content: a content hash, a remote revision, a counter.
  std::string version;
};

/// Merges `layers` (in any order; sorted by priority, stable) into one tree.
/// Cost: one copy of every node that ends up in the result, plus the lookups.
[[nodiscard]] LIVECONF_API Value merge_layers(std::span<const Layer> layers,
                                              const MergePolicies& policies);
/// Same, over pointers (what a snapshot keeps).
[[nodiscard]] LIVECONF_API Value merge_layers(std::span<const Layer* const> layers,
                                              const MergePolicies& policies);

/// One layer's say on a path.
struct LayerValue {
  std::string layer;
  int priority = 0;
  Value value;          // the layer's value at the path (with its origin); masked if sensitive
  bool winner = false;  // this layer's value is the effective one (or, for a merged
                        // object/array, the highest layer contributing to it)
};

/// Everything known about one path: the effective value and every layer's value.
struct Explanation {
  KeyPath path;
  std::optional<Value> effective;  // absent when no layer sets the path
  std::vector<LayerValue> layers;  // only layers that have the path, highest priority first
  bool sensitive = false;          // values were masked
  /// Multi-line text: the path, then one line per layer with origin, winner marked.
  [[nodiscard]] LIVECONF_API std::string to_string() const;
  /// The JSON shape `liveconf explain --format json` and the admin endpoint
  /// print: {"path", "effective" (when set), "layers": [{"layer", "priority",
  /// "value", "origin", "winner"}]}.
  [[nodiscard]] LIVECONF_API Value to_value() const;
};

/// Explains `path` over `layers` and their merged result `merged`.
[[nodiscard]] LIVECONF_API Explanation explain(std::span<const Layer* const> layers,
                                               const Value& merged, const KeyPath& path,
                                               bool sensitive = false);

}  // namespace liveconf
