// File: value/tree_building.hpp (internal)
//
// How a parser builds a tree whose bodies live in one detail::Arena
// (docs/architecture.md, "The value model"):
//
//   detail::ArenaHold arena(text.size());
//   Value root;
//   Object& members = detail::TreeBuilding::make_object(root, arena.get());
//   Value* slot = members.try_emplace("port").first;
//   detail::TreeBuilding::set_string(*slot, arena.get(), "a string");
//
// The containers it returns are written in place, never unshared: they are
// the builder's own until the tree is handed out, and never written after
// (Value::unshare() copies a body in an arena before any write). One thread
// builds one arena.
#pragma once

#include <cstring>
#include <new>
#include <string_view>

#include "liveconf/value.hpp"

namespace liveconf::detail {

/// The builder's hold on a new arena, let go when the build ends: from then
/// on the bodies of the tree keep it.
class ArenaHold {
 public:
  explicit ArenaHold(std::size_t input_bytes) : arena_(Arena::create(input_bytes)) {}
  ~ArenaHold() { arena_->let_go(); }
  ArenaHold(const ArenaHold&) = delete;
  ArenaHold& operator=(const ArenaHold&) = delete;
  [[nodiscard]] Arena* get() const noexcept { return arena_; }

 private:
  Arena* arena_;
};

struct TreeBuilding {
  /// Makes `v` an empty object in `arena` (its origin is kept) and returns it.
  static Object& make_object(Value& v, Arena* arena) {
    return make_container<Object>(v, arena, Value::Type::kObject, Object(arena));
  }
  /// Makes `v` an empty array in `arena` (its origin is kept) and returns it.
  static Value::Array& make_array(Value& v, Arena* arena) {
    return make_container<Value::Array>(v, arena, Value::Type::kArray,
                                        Value::Array(ArenaAllocator<Value>(arena)));
  }
  /// Makes `v` the string `s`: in the node when short, else in `arena` (a
  /// string too long for one arena piece goes to the heap).
  static void set_string(Value& v, Arena* arena, std::string_view s) {
    if (s.size() <= Value::kInlineChars || s.size() > Arena::kMaxPiece) {
      Value fresh(s);
      std::swap(v.head_, fresh.head_);  // only the content: `v` keeps its origin
      return;
    }
    void* memory = arena->allocate(sizeof(StringBody) + s.size(), alignof(StringBody));
    auto* b = new (memory) StringBody();
    b->arena = arena;
    b->size = s.size();
    std::memcpy(static_cast<void*>(b + 1), s.data(), s.size());
    arena->hold();
    Value fresh;
    fresh.set_type<BodyHeader*>(Value::Type::kString, b);
    fresh.head_.raw[Value::kSizeByte] = Value::kHeapString;
    std::swap(v.head_, fresh.head_);  // only the content: `v` keeps its origin
  }
  /// The container `v` holds, for the builder to fill (no copy-on-write).
  static Object& object(Value& v) noexcept {
    return static_cast<SharedBody<Object>*>(v.body())->value;
  }
  static Value::Array& array(Value& v) noexcept {
    return static_cast<SharedBody<Value::Array>*>(v.body())->value;
  }

 private:
  template <typename T>
  static T& make_container(Value& v, Arena* arena, Value::Type type, T&& empty) {
    void* memory = arena->allocate(sizeof(SharedBody<T>), alignof(SharedBody<T>));
    auto* b = new (memory) SharedBody<T>(std::move(empty));
    b->arena = arena;
    arena->hold();
    Value fresh;
    fresh.set_type<BodyHeader*>(type, b);
    std::swap(v.head_, fresh.head_);  // only the content: `v` keeps its origin
    return b->value;
  }
};

}  // namespace liveconf::detail
