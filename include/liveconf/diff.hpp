// File: liveconf/diff.hpp
//
// What changed between two configuration trees, key by key, with where each
// old and new value came from, and secrets shown as changed but never shown.
//
//   liveconf::ChangeSet changes = liveconf::diff(old_tree, new_tree, {});
//   for (const liveconf::Change& c : changes) {
//     std::cout << c.to_string() << "\n";   // timeout: 30 -> 60
//   }
//
// Objects are compared member by member (so "db.port" changes alone, not "db");
// arrays and scalars are compared as whole values. A key present on one side
// only is a change with no old (appeared) or no new (disappeared) value.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "liveconf/export.hpp"
#include "liveconf/path.hpp"
#include "liveconf/value.hpp"

namespace liveconf {

/// Paths whose values are secret. A path is sensitive when a pattern equals it
/// or is one of its ancestors; "*" segments match any key or index.
class LIVECONF_API SensitivePaths {
 public:
  void add(KeyPath pattern);
  [[nodiscard]] bool matches(const KeyPath& path) const noexcept;
  /// True when some sensitive path lies at or below `path` (its subtree holds secrets).
  [[nodiscard]] bool covers_descendant(const KeyPath& path) const noexcept;
  [[nodiscard]] bool empty() const noexcept { return patterns_.empty(); }
  [[nodiscard]] const std::vector<KeyPath>& patterns() const noexcept { return patterns_; }

 private:
  std::vector<KeyPath> patterns_;
};

/// Replaces every scalar at or below a sensitive path in `tree` with "***"
/// (containers keep their shape, so the keys stay visible).
LIVECONF_API void mask_sensitive(Value& tree, const SensitivePaths& sensitive);

/// One changed path.
struct Change {
  KeyPath path;
  std::optional<Value> old_value;  // absent: the key appeared
  std::optional<Value> new_value;  // absent: the key disappeared
  std::string old_source;          // layer of the old value ("" if none)
  std::string new_source;          // layer of the new value ("" if none)
  bool sensitive = false;          // values are masked as "***"
  bool restart_required = false;   // the new value waits for a restart (not applied)

  /// "timeout: 30 -> 60", "db.ssl: (absent) -> true", "api_key: *** -> *** (secret changed)".
  [[nodiscard]] LIVECONF_API std::string to_string() const;
};

/// An ordered list of changes (by path, in the new tree's key order).
class LIVECONF_API ChangeSet {
 public:
  ChangeSet() = default;
  explicit ChangeSet(std::vector<Change> changes) : changes_(std::move(changes)) {}

  [[nodiscard]] bool empty() const noexcept { return changes_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return changes_.size(); }
  [[nodiscard]] auto begin() const noexcept { return changes_.begin(); }
  [[nodiscard]] auto end() const noexcept { return changes_.end(); }
  [[nodiscard]] const Change& operator[](std::size_t i) const { return changes_[i]; }
  [[nodiscard]] const std::vector<Change>& changes() const noexcept { return changes_; }
  /// The change at exactly `path`, or nullptr.
  [[nodiscard]] const Change* find(const KeyPath& path) const noexcept;
  /// True when a change lies at, above or below `prefix` (a subscriber to
  /// "db" hears about "db.port", and about "db" being replaced wholesale).
  [[nodiscard]] bool touches(const KeyPath& prefix) const noexcept;
  /// The changes that touch `prefix`.
  [[nodiscard]] ChangeSet filter(const KeyPath& prefix) const;
  void push_back(Change c) { changes_.push_back(std::move(c)); }

 private:
  std::vector<Change> changes_;
};

struct DiffOptions {
  /// Values at these paths are masked in the result.
  const SensitivePaths* sensitive = nullptr;
  /// Paths whose new value is pinned until restart; their changes get restart_required.
  const std::vector<KeyPath>* restart_pending = nullptr;
  /// Only the changes that touch this path (those ChangeSet::filter(*under)
  /// keeps, in the same order); the rest of the trees is not walked, so a
  /// subscriber to one key of a 10,000-key tree costs a few lookups.
  const KeyPath* under = nullptr;
};

/// The changes from `old_tree` to `new_tree`. Origins are ignored when
/// comparing; they fill old_source/new_source.
[[nodiscard]] LIVECONF_API ChangeSet diff(const Value& old_tree, const Value& new_tree,
                                          const DiffOptions& options = {});

}  // namespace liveconf
