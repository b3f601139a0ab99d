// File: liveconf/value.hpp
//
// Value is liveconf's own configuration tree: null, bool, 64-bit integer,
// double, string, array or object. Objects keep their keys in insertion order
// (so emitted files keep the author's order) and every node carries the Origin
// it was read from, which is how liveconf answers "where did this value come
// from?" for every key.
//
//   liveconf::Value v = liveconf::Value::object();
//   v["server"]["port"] = 8080;
//   v.find("server.port")->as_int();          // 8080
//   v.find("server.port")->origin().line();   // 0: built in code, no origin
//
// Every format parser (JSON, YAML, TOML, INI, .env) produces a Value, the
// merge works on Values, and typed configs bind from them.
//
// Thread-safety: a Value is a plain value type. Concurrent const access is
// safe; a Value inside a published snapshot is never mutated. Containers are
// shared between copies and copied on the first write (see data_ below), so
// copies are O(1); a reference obtained from a mutable accessor must not be
// used after the Value was copied (the copy would see the write).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "liveconf/export.hpp"
#include "liveconf/path.hpp"
#include "liveconf/status.hpp"

namespace liveconf {

class Value;

/// An insertion-ordered map from string keys to Values. Small objects are
/// searched linearly; past kIndexThreshold entries an open-addressing index of
/// positions keeps lookups O(1), which the merge of large configs relies on.
/// Keys are unique. Thread-safety: like a std::vector.
class LIVECONF_API Object {
 public:
  using Entry = std::pair<std::string, Value>;
  static constexpr std::size_t kIndexThreshold = 12;

  Object() noexcept;
  Object(const Object& other);
  /// A copy of `other` with room for `room` members (see reserve()): one
  /// allocation and one index where a copy then reserve() would make two.
  Object(const Object& other, std::size_t room);
  Object(Object&& other) noexcept;
  Object& operator=(const Object& other);
  Object& operator=(Object&& other) noexcept;
  ~Object();

  // Bodies below Value: Entry needs the complete Value (Clang instantiates eagerly).
  [[nodiscard]] std::size_t size() const noexcept;
  [[nodiscard]] bool empty() const noexcept;
  [[nodiscard]] std::vector<Entry>::const_iterator begin() const noexcept;
  [[nodiscard]] std::vector<Entry>::const_iterator end() const noexcept;
  [[nodiscard]] const Entry& entry(std::size_t i) const;

  /// The member named `key`, or nullptr.
  [[nodiscard]] const Value* find(std::string_view key) const noexcept;
  [[nodiscard]] Value* find(std::string_view key) noexcept;
  [[nodiscard]] bool contains(std::string_view key) const noexcept;

  /// Adds `key` if absent. Returns the member and whether it was inserted; an
  /// existing member is left as it was (`value` is then dropped).
  std::pair<Value*, bool> insert(std::string key, Value value);
  /// The member named `key`, added as null at the end if absent (one lookup;
  /// the key is copied only when added). Returns it and whether it was added.
  std::pair<Value*, bool> try_emplace(std::string_view key);
  /// Sets `key` to `value`, keeping the key's position if it existed.
  Value& insert_or_assign(std::string key, Value value);
  /// The member named `key`, inserting null at the end if absent.
  Value& operator[](std::string_view key);
  /// Removes `key`; returns whether it was there. O(n).
  bool erase(std::string_view key);
  /// Room for `n` members without reallocating or re-indexing (at least:
  /// it grows geometrically, so calling it before every insert stays linear).
  void reserve(std::size_t n);
  /// A hint that `key` is looked up soon: starts loading the index slot it
  /// hashes to, so a loop over many keys (a merge) overlaps their cache misses.
  void prefetch(std::string_view key) const noexcept;

  /// A key with its hash as the index uses it, so a loop that prefetches a key
  /// and later inserts it (a merge) hashes it once. Views `key`.
  struct HashedKey {
    std::string_view key;
    std::uint32_t hash;
  };
  [[nodiscard]] static HashedKey hashed(std::string_view key) noexcept;
  void prefetch(const HashedKey& key) const noexcept;
  /// Adds a copy of `value` as `key` if absent (constructed in place, one
  /// lookup). Returns the member and whether it was added; an existing member
  /// is left as it was.
  std::pair<Value*, bool> try_emplace(const HashedKey& key, const Value& value);
  /// The same for a key not hashed yet: hashes it only if the object is
  /// large enough to have an index (small objects compare keys directly).
  std::pair<Value*, bool> try_emplace(std::string_view key, const Value& value);
  /// Mutable access to the value at position i (keys cannot be changed in place).
  [[nodiscard]] Value& value_at(std::size_t i);

  friend LIVECONF_API bool operator==(const Object& a, const Object& b);

 private:
  [[nodiscard]] std::size_t find_slot(std::string_view key, std::uint32_t hash) const noexcept;
  void rebuild_index(std::size_t room = 0);
  void place_slots(const std::vector<std::uint64_t>& from, std::size_t room);
  void index_new_entry();

  std::vector<Entry> entries_;
  // Open addressing, linear probing, at most half full; empty while small.
  // A slot is 0 (empty) or the key's 32-bit hash in the high half and its
  // entry position + 1 in the low half: a probe compares hashes before it
  // touches an entry, and growing re-places slots without hashing a key.
  // It indexes a prefix of entries_ (entries are appended, then indexed).
  std::vector<std::uint64_t> index_;
};

/// One node of a configuration tree, with its Origin.
class LIVECONF_API Value {
 public:
  enum class Type : std::uint8_t { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  using Array = std::vector<Value>;

  Value() noexcept = default;
  Value(std::nullptr_t) noexcept {}     // NOLINT(google-explicit-constructor)
  Value(bool b) noexcept : data_(b) {}  // NOLINT
  template <std::integral I>
  requires(!std::same_as<I, bool> && !std::same_as<I, char>) Value(I i)
  noexcept : data_(static_cast<std::int64_t>(i)) {}                   // NOLINT
  Value(double d) noexcept : data_(d) {}                              // NOLINT
  Value(std::string s) noexcept : data_(std::move(s)) {}              // NOLINT
  Value(std::string_view s) : data_(std::string(s)) {}                // NOLINT
  Value(const char* s) : data_(std::string(s)) {}                     // NOLINT
  Value(Array a) : data_(std::make_shared<Array>(std::move(a))) {}    // NOLINT
  Value(Object o) : data_(std::make_shared<Object>(std::move(o))) {}  // NOLINT

  [[nodiscard]] static Value object() { return Value(Object()); }
  [[nodiscard]] static Value array() { return Value(Array()); }

  [[nodiscard]] Type type() const noexcept { return static_cast<Type>(data_.index()); }
  /// "null", "bool", "integer", "float", "string", "array", "object".
  [[nodiscard]] std::string_view type_name() const noexcept;
  [[nodiscard]] bool is_null() const noexcept { return type() == Type::kNull; }
  [[nodiscard]] bool is_bool() const noexcept { return type() == Type::kBool; }
  [[nodiscard]] bool is_int() const noexcept { return type() == Type::kInt; }
  [[nodiscard]] bool is_double() const noexcept { return type() == Type::kDouble; }
  [[nodiscard]] bool is_number() const noexcept { return is_int() || is_double(); }
  [[nodiscard]] bool is_string() const noexcept { return type() == Type::kString; }
  [[nodiscard]] bool is_array() const noexcept { return type() == Type::kArray; }
  [[nodiscard]] bool is_object() const noexcept { return type() == Type::kObject; }
  [[nodiscard]] bool is_scalar() const noexcept { return !is_array() && !is_object(); }

  // Unchecked accessors: calling the wrong one is a programming error
  // (std::bad_variant_access). Check type() first, or use bind.hpp.
  [[nodiscard]] bool as_bool() const { return std::get<bool>(data_); }
  [[nodiscard]] std::int64_t as_int() const { return std::get<std::int64_t>(data_); }
  /// The number as double (integers convert).
  [[nodiscard]] double as_double() const {
    return is_int() ? static_cast<double>(as_int()) : std::get<double>(data_);
  }
  /// The text, valid while this Value (or the tree holding it) lives and is
  /// not written. A view, not a std::string, so that a tree may keep its
  /// strings in one buffer (docs/architecture.md, "The value model").
  [[nodiscard]] std::string_view as_string() const { return std::get<std::string>(data_); }
  /// The elements, valid while this Value (or the tree holding it) lives and
  /// is not written. A span, not the vector, so that a tree may keep its
  /// elements in one buffer (docs/architecture.md, "The value model").
  [[nodiscard]] std::span<const Value> as_array() const { return *std::get<ArrayPtr>(data_); }
  /// Mutable access unshares the container first (copy-on-write): other
  /// Values that shared it keep the old contents.
  [[nodiscard]] Array& as_array() { return *unshare(std::get<ArrayPtr>(data_)); }
  [[nodiscard]] const Object& as_object() const { return *std::get<ObjectPtr>(data_); }
  [[nodiscard]] Object& as_object() { return *unshare(std::get<ObjectPtr>(data_)); }
  /// True when both are containers sharing one body (so they are equal without a look).
  [[nodiscard]] bool shares_body_with(const Value& other) const noexcept;
  /// True when this is a container whose body no other Value holds, so a
  /// write through as_object()/as_array() changes it in place instead of
  /// copying it. Every other holder's use of the body (on any thread) happens
  /// before a true return, so the caller may then write it.
  [[nodiscard]] bool owns_body_alone() const noexcept;

  /// Number of members (object), elements (array), or 0.
  [[nodiscard]] std::size_t size() const noexcept;

  /// Member `key` of an object (no path parsing); nullptr if absent or not an object.
  [[nodiscard]] const Value* find_member(std::string_view key) const noexcept;
  /// Node at `path`: object members by key, array elements by decimal index.
  /// The root path returns this. nullptr if any step is missing.
  [[nodiscard]] const Value* find(const KeyPath& path) const noexcept;
  /// The same node, for writing: containers on the way are unshared first
  /// (copy-on-write), so the write never reaches another tree.
  [[nodiscard]] Value* find_mutable(const KeyPath& path);

  /// Object member access that creates: a null Value becomes an empty object
  /// first. Calling it on a non-object, non-null Value is a programming error.
  Value& operator[](std::string_view key);
  Value& operator[](const char* key) { return (*this)[std::string_view(key)]; }
  /// Creates the objects along `path` and sets the leaf; intermediate non-objects are replaced.
  Value& set(const KeyPath& path, Value value);
  /// Removes the node at `path`; returns whether it existed.
  bool erase(const KeyPath& path);
  /// Appends to an array (a null Value becomes an empty array first).
  Value& push_back(Value v);

  /// Where this node was read from. By value: a tree may keep one source per
  /// tree and byte offsets per node, and compute the line and column when
  /// asked (docs/architecture.md, "The value model").
  [[nodiscard]] Origin origin() const noexcept { return origin_; }
  void set_origin(Origin origin) noexcept { origin_ = std::move(origin); }
  /// Sets `origin` on this node and every descendant.
  void set_origin_recursive(const Origin& origin);

  /// Deep equality of content; origins are ignored. 1 and 1.0 are not equal.
  friend LIVECONF_API bool operator==(const Value& a, const Value& b);

  /// Compact one-line JSON-like text for messages and diffs: {"a":1,"b":[true]}.
  [[nodiscard]] std::string to_display_string() const;
  /// Total number of nodes in this tree (this one included).
  [[nodiscard]] std::size_t node_count() const noexcept;

 private:
  // Arrays and objects are shared, immutable-while-shared bodies: copying a
  // Value copies a pointer, so merging layers, building snapshots and keeping
  // old snapshots share every subtree that did not change. Mutation goes
  // through unshare(), which copies a body that someone else still holds.
  using ArrayPtr = std::shared_ptr<Array>;
  using ObjectPtr = std::shared_ptr<Object>;
  template <typename T>
  static std::shared_ptr<T>& unshare(std::shared_ptr<T>& body) {
    if (body.use_count() > 1) {
      body = std::make_shared<T>(*body);
    }
    return body;
  }

  std::variant<std::monostate, bool, std::int64_t, double, std::string, ArrayPtr, ObjectPtr> data_;
  Origin origin_;
};

inline std::size_t Object::size() const noexcept { return entries_.size(); }
inline bool Object::empty() const noexcept { return entries_.empty(); }
inline std::vector<Object::Entry>::const_iterator Object::begin() const noexcept {
  return entries_.begin();
}
inline std::vector<Object::Entry>::const_iterator Object::end() const noexcept {
  return entries_.end();
}
inline const Object::Entry& Object::entry(std::size_t i) const { return entries_[i]; }
inline bool Object::contains(std::string_view key) const noexcept { return find(key) != nullptr; }
inline Value& Object::value_at(std::size_t i) { return entries_[i].second; }

/// Text used wherever a sensitive value would otherwise be shown.
inline constexpr std::string_view kMaskedValue = "***";

}  // namespace liveconf
