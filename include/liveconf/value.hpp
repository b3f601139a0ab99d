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
// shared between copies and copied on the first write (see head_ below), so
// copies are O(1); a reference obtained from a mutable accessor must not be
// used after the Value was copied (the copy would see the write).
#pragma once

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "liveconf/export.hpp"
#include "liveconf/path.hpp"
#include "liveconf/status.hpp"

namespace liveconf {

class Value;

namespace detail {

struct TreeBuilding;  // src/value/tree_building.hpp: how a parser fills a tree in an arena

// A region the bodies of one parsed tree are carved from (docs/architecture.md,
// "The value model"): a parse makes one arena and bumps a pointer through it
// instead of calling malloc for every container and long string, and the
// tree's destruction frees a few large blocks instead of every body. Bodies in
// an arena are never freed one by one; each counts as one holder of the arena,
// and the last one to die (on any thread) frees it. Only the thread building
// the tree allocates, and only while it builds: a body in an arena is never
// written afterwards (Value::unshare() copies it to the heap first), so the
// bump pointer needs no lock.
class LIVECONF_API Arena {
 public:
  // A vector's buffer above this size goes to the heap even when its
  // container is in an arena: a growing vector leaves its old buffers behind
  // in the arena, which is cheap for small ones (the parser sizes most of them
  // ahead) but not for the one container of a huge document.
  static constexpr std::size_t kMaxPiece = 4096;

  /// A new arena with one holder (the builder), whose first block suits a
  /// document of `input_bytes` bytes.
  [[nodiscard]] static Arena* create(std::size_t input_bytes);
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  [[nodiscard]] void* allocate(std::size_t bytes, std::size_t align) {
    const std::uintptr_t at =
        (reinterpret_cast<std::uintptr_t>(next_) + (align - 1)) & ~(std::uintptr_t{align} - 1);
    if (at + bytes <= reinterpret_cast<std::uintptr_t>(end_)) {
      next_ = reinterpret_cast<char*>(at + bytes);  // NOLINT(performance-no-int-to-ptr)
      return reinterpret_cast<void*>(at);           // NOLINT(performance-no-int-to-ptr)
    }
    return allocate_in_new_block(bytes, align);
  }
  void hold() noexcept { holders_.fetch_add(1, std::memory_order_relaxed); }
  /// Drops one holder; the last one frees the arena (`this` is then gone).
  void let_go() noexcept {
    if (holders_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      free_all();
    }
  }

 private:
  explicit Arena(std::size_t first_block) noexcept : next_block_(first_block) {}
  ~Arena() = default;
  void* allocate_in_new_block(std::size_t bytes, std::size_t align);
  void free_all() noexcept;

  std::atomic<std::size_t> holders_{1};
  char* next_ = nullptr;
  char* end_ = nullptr;
  void* blocks_ = nullptr;  // the newest block; each starts with a pointer to the one before
  std::size_t next_block_;  // the size of the next block (they grow geometrically)
};

// The allocator of the vectors inside containers: the heap by default, the
// arena for a container a parser built in one (see Arena::kMaxPiece). A copy
// of a container always goes to the heap (select_on_container_copy_construction),
// so a container copied out of a tree never points into its arena.
template <typename T>
class ArenaAllocator {
 public:
  using value_type = T;
  using propagate_on_container_copy_assignment = std::false_type;
  using propagate_on_container_move_assignment = std::false_type;
  using propagate_on_container_swap = std::false_type;
  using is_always_equal = std::false_type;

  ArenaAllocator() noexcept = default;
  explicit ArenaAllocator(Arena* arena) noexcept : arena_(arena) {}
  template <typename U>
  ArenaAllocator(const ArenaAllocator<U>& other) noexcept  // NOLINT(google-explicit-constructor)
      : arena_(other.arena()) {}

  [[nodiscard]] T* allocate(std::size_t n) {
    if (in_arena(n)) {
      return static_cast<T*>(arena_->allocate(n * sizeof(T), alignof(T)));
    }
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (!in_arena(n)) {  // a piece of an arena is freed with the arena
      std::allocator<T>().deallocate(p, n);
    }
  }
  [[nodiscard]] ArenaAllocator select_on_container_copy_construction() const noexcept {
    return ArenaAllocator();
  }
  [[nodiscard]] Arena* arena() const noexcept { return arena_; }
  friend bool operator==(const ArenaAllocator& a, const ArenaAllocator& b) noexcept {
    return a.arena_ == b.arena_;
  }

 private:
  // n * sizeof(T) cannot overflow here: the vector checks max_size() first.
  [[nodiscard]] bool in_arena(std::size_t n) const noexcept {
    return arena_ != nullptr && n * sizeof(T) <= Arena::kMaxPiece;
  }
  Arena* arena_ = nullptr;
};

}  // namespace detail

/// An insertion-ordered map from string keys to Values. Small objects are
/// searched linearly; past kIndexThreshold entries an open-addressing index of
/// positions keeps lookups O(1), which the merge of large configs relies on.
/// Keys are unique. Thread-safety: like a std::vector.
class LIVECONF_API Object {
 public:
  using Entry = std::pair<std::string, Value>;
  using Entries = std::vector<Entry, detail::ArenaAllocator<Entry>>;
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
  [[nodiscard]] Entries::const_iterator begin() const noexcept;
  [[nodiscard]] Entries::const_iterator end() const noexcept;
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

  friend struct detail::TreeBuilding;
  explicit Object(detail::Arena* arena) noexcept;  // empty, its entries in `arena`

  Entries entries_;
  // Open addressing, linear probing, at most half full; empty while small.
  // A slot is 0 (empty) or the key's 32-bit hash in the high half and its
  // entry position + 1 in the low half: a probe compares hashes before it
  // touches an entry, and growing re-places slots without hashing a key.
  // It indexes a prefix of entries_ (entries are appended, then indexed).
  std::vector<std::uint64_t> index_;
};

namespace detail {
// The shared, reference-counted bodies a Value points to (value.cpp says why
// the count is intrusive). Every body starts with its count.
struct BodyHeader {
  std::atomic<std::size_t> refs{1};
  Arena* arena = nullptr;  // the arena the body is in, or nullptr: the heap
};
template <typename T>
struct SharedBody : BodyHeader {
  explicit SharedBody(T v) : value(std::move(v)) {}
  T value;
};
// A string too long to keep inside the node: immutable, its bytes follow it.
struct StringBody : BodyHeader {
  std::size_t size = 0;
  [[nodiscard]] const char* data() const noexcept {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the bytes follow the header
    return reinterpret_cast<const char*>(this + 1);
  }
};
[[noreturn]] LIVECONF_API void throw_wrong_type();
}  // namespace detail

/// One node of a configuration tree, with its Origin.
class LIVECONF_API Value {
 public:
  enum class Type : std::uint8_t { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  using Array = std::vector<Value, detail::ArenaAllocator<Value>>;

  Value() noexcept = default;
  Value(std::nullptr_t) noexcept {}                     // NOLINT(google-explicit-constructor)
  Value(bool b) noexcept { set_type(Type::kBool, b); }  // NOLINT
  template <std::integral I>
  requires(!std::same_as<I, bool> && !std::same_as<I, char>) Value(I i)
  noexcept { set_type(Type::kInt, static_cast<std::int64_t>(i)); }  // NOLINT
  Value(double d) noexcept { set_type(Type::kDouble, d); }          // NOLINT
  Value(std::string_view s) { set_string(s); }                      // NOLINT
  Value(const std::string& s) : Value(std::string_view(s)) {}       // NOLINT
  Value(const char* s) : Value(std::string_view(s)) {}              // NOLINT
  Value(Array a);                                                   // NOLINT
  Value(Object o);                                                  // NOLINT

  Value(const Value& other) noexcept
      : head_(other.head_), line_(other.line_), column_(other.column_), info_(other.info_) {
    if (has_body()) {
      body()->refs.fetch_add(1, std::memory_order_relaxed);
    }
  }
  Value(Value&& other) noexcept
      : head_(other.head_),
        line_(other.line_),
        column_(other.column_),
        info_(std::move(other.info_)) {
    other.head_.type = Type::kNull;
  }
  Value& operator=(const Value& other) noexcept {
    Value copy(other);  // first: `other` may live inside this node's body
    swap(copy);
    return *this;
  }
  Value& operator=(Value&& other) noexcept {
    Value taken(std::move(other));
    swap(taken);
    return *this;
  }
  ~Value() {
    if (has_body()) {
      release(body(), head_.type);
    }
  }
  void swap(Value& other) noexcept {
    std::swap(head_, other.head_);
    std::swap(line_, other.line_);
    std::swap(column_, other.column_);
    info_.swap(other.info_);
  }

  [[nodiscard]] static Value object() { return Value(Object()); }
  [[nodiscard]] static Value array() { return Value(Array()); }

  [[nodiscard]] Type type() const noexcept { return head_.type; }
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

  // Checked accessors: calling the wrong one is a programming error and
  // throws std::bad_variant_access (what the std::variant this node once was
  // threw). Check type() first, or use bind.hpp.
  [[nodiscard]] bool as_bool() const { return checked<bool>(Type::kBool); }
  [[nodiscard]] std::int64_t as_int() const { return checked<std::int64_t>(Type::kInt); }
  /// The number as double (integers convert).
  [[nodiscard]] double as_double() const {
    return is_int() ? static_cast<double>(as_int()) : checked<double>(Type::kDouble);
  }
  /// The text, valid while this Value (or the tree holding it) lives and is
  /// not written. A view, not a std::string, so that a tree may keep its
  /// strings in one buffer (docs/architecture.md, "The value model").
  [[nodiscard]] std::string_view as_string() const {
    expect(Type::kString);
    if (inline_string()) {
      return {head_.raw, static_cast<std::size_t>(head_.raw[kSizeByte])};
    }
    const auto* b = static_cast<const detail::StringBody*>(body());
    return {b->data(), b->size};
  }
  /// The elements, valid while this Value (or the tree holding it) lives and
  /// is not written. A span, not the vector, so that a tree may keep its
  /// elements in one buffer (docs/architecture.md, "The value model").
  [[nodiscard]] std::span<const Value> as_array() const {
    expect(Type::kArray);
    return static_cast<const detail::SharedBody<Array>*>(body())->value;
  }
  /// Mutable access unshares the container first (copy-on-write): other
  /// Values that shared it keep the old contents.
  [[nodiscard]] Array& as_array() {
    expect(Type::kArray);
    return unshare<Array>();
  }
  [[nodiscard]] const Object& as_object() const {
    expect(Type::kObject);
    return static_cast<const detail::SharedBody<Object>*>(body())->value;
  }
  [[nodiscard]] Object& as_object() {
    expect(Type::kObject);
    return unshare<Object>();
  }
  /// True when both are containers sharing one body (so they are equal without a look).
  [[nodiscard]] bool shares_body_with(const Value& other) const noexcept;
  /// True when this is a container whose body no other Value holds (and that
  /// a parser did not build in its arena), so a write through
  /// as_object()/as_array() changes it in place instead of copying it. Every other holder's use of
  /// the body (on any thread) happens before a true return, so the caller may then write it.
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
  [[nodiscard]] Origin origin() const noexcept { return Origin(info_, line_, column_); }
  /// The source part of origin() (nullptr: none), without counting a holder.
  [[nodiscard]] const OriginInfo* origin_info() const noexcept { return info_.get(); }
  void set_origin(Origin origin) noexcept {
    info_ = std::move(origin.info_);
    line_ = origin.line_;
    column_ = origin.column_;
  }
  /// The same as set_origin(Origin(info, line, column)), without building the
  /// Origin: the form a parser uses on every node.
  void set_origin(const std::shared_ptr<const OriginInfo>& info, std::uint32_t line,
                  std::uint32_t column) noexcept {
    info_ = info;
    line_ = line;
    column_ = column;
  }
  /// Sets `origin` on this node and every descendant.
  void set_origin_recursive(const Origin& origin);

  /// Deep equality of content; origins are ignored. 1 and 1.0 are not equal.
  friend LIVECONF_API bool operator==(const Value& a, const Value& b);

  /// Compact one-line JSON-like text for messages and diffs: {"a":1,"b":[true]}.
  [[nodiscard]] std::string to_display_string() const;
  /// Total number of nodes in this tree (this one included).
  [[nodiscard]] std::size_t node_count() const noexcept;

 private:
  friend struct detail::TreeBuilding;

  // A node is 40 bytes (docs/architecture.md, "The value model"): 15 bytes
  // of payload, the type, the line and column, and the shared OriginInfo.
  // The payload is a bool, an int64_t, a double or a body pointer in its
  // first 8 bytes, or a string of up to kInlineChars bytes kept in place
  // with its length in byte kSizeByte (kHeapString there: the string is a
  // StringBody). Arrays and objects are shared, immutable-while-shared
  // bodies: copying a Value copies a pointer and counts one more holder, so
  // merging layers, building snapshots and keeping old snapshots share every
  // subtree that did not change. Mutation goes through unshare(), which
  // copies a body that someone else still holds. The count is intrusive (in
  // the body, not a shared_ptr's control block) so that a node holds one
  // 8-byte pointer for it. A parser builds its bodies in one detail::Arena;
  // those are copied to the heap before any write, even by a sole holder.
  static constexpr std::size_t kInlineChars = 14;
  static constexpr std::size_t kSizeByte = 14;
  static constexpr char kHeapString = static_cast<char>(0x7F);

  template <typename T>
  void store(T v) noexcept {
    std::memcpy(head_.raw, &v, sizeof v);
  }
  template <typename T>
  void set_type(Type t, T v) noexcept {
    head_.type = t;
    store(v);
  }
  template <typename T>
  [[nodiscard]] T load() const noexcept {
    T v;
    std::memcpy(&v, head_.raw, sizeof v);
    return v;
  }
  void expect(Type t) const {
    if (head_.type != t) {
      detail::throw_wrong_type();
    }
  }
  template <typename T>
  [[nodiscard]] T checked(Type t) const {
    expect(t);
    return load<T>();
  }
  [[nodiscard]] bool inline_string() const noexcept { return head_.raw[kSizeByte] != kHeapString; }
  [[nodiscard]] bool has_body() const noexcept {
    const Type t = head_.type;
    return t == Type::kArray || t == Type::kObject || (t == Type::kString && !inline_string());
  }
  [[nodiscard]] detail::BodyHeader* body() const noexcept { return load<detail::BodyHeader*>(); }
  void set_string(std::string_view s);
  // Drops one holder of `b` (of a node of type `t`); the last one frees it.
  static void release(detail::BodyHeader* b, Type t) noexcept {
    if (b->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      destroy(b, t);
    }
  }
  static void destroy(detail::BodyHeader* b, Type t) noexcept;
  // Replaces the content (not the origin) with an empty object or array.
  void become_container(Type t);
  template <typename T>
  T& unshare() {
    auto* b = static_cast<detail::SharedBody<T>*>(body());
    // Acquire: a holder that let go on another thread is done reading. A
    // body in an arena is never written (detail::Arena says why): copied too.
    if (b->arena != nullptr || b->refs.load(std::memory_order_acquire) != 1) {
      auto* copy = new detail::SharedBody<T>(b->value);
      store<detail::BodyHeader*>(copy);
      release(b, head_.type);
      b = copy;
    }
    return b->value;
  }

  // The payload and the type: 16 bytes, copied as one.
  struct alignas(8) Head {
    char raw[15] = {};
    Type type = Type::kNull;
  };
  Head head_;
  std::uint32_t line_ = 0;
  std::uint32_t column_ = 0;
  std::shared_ptr<const OriginInfo> info_;
};

inline std::size_t Object::size() const noexcept { return entries_.size(); }
inline bool Object::empty() const noexcept { return entries_.empty(); }
inline Object::Entries::const_iterator Object::begin() const noexcept { return entries_.begin(); }
inline Object::Entries::const_iterator Object::end() const noexcept { return entries_.end(); }
inline const Object::Entry& Object::entry(std::size_t i) const { return entries_[i]; }
inline bool Object::contains(std::string_view key) const noexcept { return find(key) != nullptr; }
inline Value& Object::value_at(std::size_t i) { return entries_[i].second; }
inline Object::Object(detail::Arena* arena) noexcept
    : entries_(detail::ArenaAllocator<Entry>(arena)) {}

/// Text used wherever a sensitive value would otherwise be shown.
inline constexpr std::string_view kMaskedValue = "***";

}  // namespace liveconf
