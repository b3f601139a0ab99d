#include "liveconf/value.hpp"

#include <algorithm>
#include <charconv>
#include <new>
#include <variant>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "value/text.hpp"

namespace liveconf {
namespace {

// XXH3 (libxxhash, already a dependency), inlined: on the short keys of
// configuration files it costs half or less of std::hash's murmur (a merge's
// profile: 2-5% of samples against 11%).
std::uint32_t hash_key(std::string_view key) noexcept {
  return static_cast<std::uint32_t>(XXH3_64bits(key.data(), key.size()) >> 32);
}

// An index slot: see Object::index_.
constexpr std::uint64_t make_slot(std::uint32_t hash, std::size_t position) noexcept {
  return (std::uint64_t{hash} << 32) | static_cast<std::uint32_t>(position + 1);
}
constexpr std::uint32_t slot_hash(std::uint64_t slot) noexcept {
  return static_cast<std::uint32_t>(slot >> 32);
}
// Entry position + 1 (0: empty).
constexpr std::uint32_t slot_entry(std::uint64_t slot) noexcept {
  return static_cast<std::uint32_t>(slot);
}

// The index size for `n` entries: a power of two, at most half full.
std::size_t index_capacity(std::size_t n) noexcept {
  std::size_t cap = 32;
  while (cap < n * 2) {
    cap <<= 1;
  }
  return cap;
}

// Parses a decimal array index; false for anything else ("01" is accepted as 1).
bool parse_index(std::string_view s, std::size_t& out) {
  if (s.empty()) {
    return false;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

// ---- Object ---------------------------------------------------------------

Object::Object() noexcept = default;
Object::Object(const Object& other) : entries_(other.entries_), index_(other.index_) {}
Object::Object(const Object& other, std::size_t room) {
  entries_.reserve(std::max(room, other.entries_.size()));
  entries_.insert(entries_.end(), other.entries_.begin(), other.entries_.end());
  if (room <= kIndexThreshold || other.index_.size() >= room * 2) {
    index_ = other.index_;  // positions are the same, and it has the room
  } else {
    place_slots(other.index_, room);
  }
}
Object::Object(Object&& other) noexcept = default;
Object& Object::operator=(const Object& other) = default;
Object& Object::operator=(Object&& other) noexcept = default;
Object::~Object() = default;

// Returns the slot holding `key` (whose hash_key() is `hash`), or the empty
// slot where it would go.
std::size_t Object::find_slot(std::string_view key, std::uint32_t hash) const noexcept {
  const std::size_t mask = index_.size() - 1;
  std::size_t slot = hash & mask;
  while (true) {
    const std::uint64_t v = index_[slot];
    if (v == 0 || (slot_hash(v) == hash && entries_[slot_entry(v) - 1].first == key)) {
      return slot;
    }
    slot = (slot + 1) & mask;
  }
}

// `room`: size the index for this many entries (at least the current ones).
void Object::rebuild_index(std::size_t room) {
  std::vector<std::uint64_t> old;
  old.swap(index_);
  place_slots(old, room);
}

// Builds index_ for max(room, size()) entries from `from`, an index of a
// prefix of entries_ (or empty): its slots move without their keys being
// hashed again, and the entries after that prefix are hashed and added.
void Object::place_slots(const std::vector<std::uint64_t>& from, std::size_t room) {
  index_.clear();
  const std::size_t n = std::max(room, entries_.size());
  if (n <= kIndexThreshold) {
    return;
  }
  index_.assign(index_capacity(n), 0);
  const std::size_t mask = index_.size() - 1;
  const auto place = [&](std::uint64_t v) {
    std::size_t slot = slot_hash(v) & mask;
    while (index_[slot] != 0) {  // keys are unique: the first empty slot is the one
      slot = (slot + 1) & mask;
    }
    index_[slot] = v;
  };
  std::size_t indexed = 0;
  for (const std::uint64_t v : from) {
    if (v != 0) {
      place(v);
      ++indexed;
    }
  }
  for (std::size_t i = indexed; i < entries_.size(); ++i) {
    place(make_slot(hash_key(entries_[i].first), i));
  }
}

void Object::index_new_entry() {
  if (entries_.size() <= kIndexThreshold) {
    return;
  }
  if (index_.empty() || entries_.size() * 2 > index_.size()) {
    rebuild_index();
    return;
  }
  const std::uint32_t hash = hash_key(entries_.back().first);
  index_[find_slot(entries_.back().first, hash)] = make_slot(hash, entries_.size() - 1);
}

void Object::prefetch(std::string_view key) const noexcept { prefetch(hashed(key)); }

Object::HashedKey Object::hashed(std::string_view key) noexcept { return {key, hash_key(key)}; }

void Object::prefetch(const HashedKey& key) const noexcept {
  if (!index_.empty()) {
    __builtin_prefetch(&index_[key.hash & (index_.size() - 1)]);
  }
}

const Value* Object::find(std::string_view key) const noexcept {
  if (index_.empty()) {
    for (const Entry& e : entries_) {
      if (e.first == key) {
        return &e.second;
      }
    }
    return nullptr;
  }
  const std::uint64_t v = index_[find_slot(key, hash_key(key))];
  return v == 0 ? nullptr : &entries_[slot_entry(v) - 1].second;
}

Value* Object::find(std::string_view key) noexcept {
  return const_cast<Value*>(static_cast<const Object*>(this)->find(key));  // NOLINT
}

std::pair<Value*, bool> Object::insert(std::string key, Value value) {
  if (!index_.empty() && (entries_.size() + 1) * 2 <= index_.size()) {
    // One probe both checks for the key and finds the free slot.
    const std::uint32_t hash = hash_key(key);
    const std::size_t slot = find_slot(key, hash);
    if (index_[slot] != 0) {
      return {&entries_[slot_entry(index_[slot]) - 1].second, false};
    }
    entries_.emplace_back(std::move(key), std::move(value));
    index_[slot] = make_slot(hash, entries_.size() - 1);
    return {&entries_.back().second, true};
  }
  if (Value* existing = find(key)) {
    return {existing, false};
  }
  entries_.emplace_back(std::move(key), std::move(value));
  index_new_entry();
  return {&entries_.back().second, true};
}

void Object::reserve(std::size_t n) {
  // Geometric, like push_back's own growth: a merge reserves for each layer
  // it folds in, and exact reservations would copy the entries every time.
  if (n > entries_.capacity()) {
    entries_.reserve(std::max(n, entries_.capacity() * 2));
  }
  if (n > kIndexThreshold && index_.size() < n * 2) {
    rebuild_index(n);
  }
}

std::pair<Value*, bool> Object::try_emplace(std::string_view key) {
  static const Value kNull;
  return try_emplace(key, kNull);
}

std::pair<Value*, bool> Object::try_emplace(std::string_view key, const Value& value) {
  if (index_.empty()) {
    // No index (yet): insert() compares keys, and hashes them only if this
    // member is the one that makes the object large enough for an index.
    if (Value* existing = find(key)) {
      return {existing, false};
    }
    entries_.emplace_back(std::piecewise_construct, std::forward_as_tuple(key),
                          std::forward_as_tuple(value));
    index_new_entry();
    return {&entries_.back().second, true};
  }
  return try_emplace(hashed(key), value);
}

std::pair<Value*, bool> Object::try_emplace(const HashedKey& key, const Value& value) {
  if (!index_.empty() && (entries_.size() + 1) * 2 <= index_.size()) {
    const std::size_t slot = find_slot(key.key, key.hash);
    if (index_[slot] != 0) {
      return {&entries_[slot_entry(index_[slot]) - 1].second, false};
    }
    entries_.emplace_back(std::piecewise_construct, std::forward_as_tuple(key.key),
                          std::forward_as_tuple(value));
    index_[slot] = make_slot(key.hash, entries_.size() - 1);
    return {&entries_.back().second, true};
  }
  return insert(std::string(key.key), value);
}

Value& Object::insert_or_assign(std::string key, Value value) {
  auto [slot, inserted] = insert(std::move(key), Value());
  *slot = std::move(value);
  return *slot;
}

Value& Object::operator[](std::string_view key) { return *insert(std::string(key), Value()).first; }

bool Object::erase(std::string_view key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == key) {
      entries_.erase(it);
      index_.clear();  // positions moved: every key is hashed again
      rebuild_index();
      return true;
    }
  }
  return false;
}

bool operator==(const Object& a, const Object& b) {
  if (a.size() != b.size()) {
    return false;
  }
  // Key order is presentation, not content: {"a":1,"b":2} equals {"b":2,"a":1}.
  for (const auto& [key, value] : a.entries_) {
    const Value* other = b.find(key);
    if (other == nullptr || !(*other == value)) {
      return false;
    }
  }
  return true;
}

// ---- Arena ----------------------------------------------------------------

namespace detail {
namespace {
// A block starts with a pointer to the block before it, padded so that what
// follows is aligned for anything a body holds.
constexpr std::size_t kBlockHeader = alignof(std::max_align_t);
constexpr std::size_t kMinFirstBlock = 256;
constexpr std::size_t kMaxFirstBlock = std::size_t{1} << 20;
constexpr std::size_t kMaxBlock = std::size_t{4} << 20;
}  // namespace

// A parsed tree takes a few times its text's bytes (about 6x for records of
// short fields, 7x for a one-member file of 20 bytes), so the first block is
// six times the input: a small file's tree fits in one block not much larger
// than it (a process with 10,000 small layers keeps 10,000 of them; 256 bytes
// each for the benchmark's one-member files), and a large one's blocks grow
// geometrically to kMaxBlock, which bounds what the last block leaves unused.
Arena* Arena::create(std::size_t input_bytes) {
  const std::size_t first =
      std::clamp(input_bytes > kMaxFirstBlock ? kMaxFirstBlock : input_bytes * 6, kMinFirstBlock,
                 kMaxFirstBlock);
  return new Arena(first);  // NOLINT(cppcoreguidelines-owning-memory): freed by free_all()
}

void* Arena::allocate_in_new_block(std::size_t bytes, std::size_t align) {
  const std::size_t size = std::max(next_block_, kBlockHeader + bytes + align);
  char* block = static_cast<char*>(::operator new(size));
  std::memcpy(block, &blocks_, sizeof blocks_);  // the link to the block before
  blocks_ = block;
  next_ = block + kBlockHeader;
  end_ = block + size;
  next_block_ = std::min(next_block_ * 2, kMaxBlock);
  return allocate(bytes, align);
}

void Arena::free_all() noexcept {
  void* block = blocks_;
  while (block != nullptr) {
    void* before = nullptr;
    std::memcpy(&before, block, sizeof before);
    ::operator delete(block);
    block = before;
  }
  delete this;  // NOLINT(cppcoreguidelines-owning-memory): made by create()
}
}  // namespace detail

// ---- Value ----------------------------------------------------------------

// docs/architecture.md draws this layout; a change of size should change it too.
static_assert(sizeof(void*) != 8 || sizeof(Value) == 40, "a Value node is 40 bytes");

namespace detail {
void throw_wrong_type() { throw std::bad_variant_access(); }
}  // namespace detail

Value::Value(Array a) {
  set_type<detail::BodyHeader*>(Type::kArray, new detail::SharedBody<Array>(std::move(a)));
}

Value::Value(Object o) {
  set_type<detail::BodyHeader*>(Type::kObject, new detail::SharedBody<Object>(std::move(o)));
}

void Value::set_string(std::string_view s) {
  head_.type = Type::kString;
  if (s.size() <= kInlineChars) {
    std::memcpy(head_.raw, s.data(), s.size());
    head_.raw[kSizeByte] = static_cast<char>(s.size());
    return;
  }
  // One allocation: the header, then the bytes.
  void* memory = ::operator new(sizeof(detail::StringBody) + s.size());
  auto* b = new (memory) detail::StringBody();
  b->size = s.size();
  std::memcpy(static_cast<void*>(b + 1), s.data(), s.size());
  store<detail::BodyHeader*>(b);
  head_.raw[kSizeByte] = kHeapString;
}

namespace {
// Destroys a container body: a heap one is deleted, one in an arena destroyed
// in place (its memory goes with the arena's). Returns its arena, if any.
template <typename Container>
detail::Arena* end_container(detail::BodyHeader* header) noexcept {
  auto* b = static_cast<detail::SharedBody<Container>*>(header);
  detail::Arena* const arena = header->arena;
  if (arena == nullptr) {
    delete b;  // NOLINT(cppcoreguidelines-owning-memory)
  } else {
    b->~SharedBody<Container>();
  }
  return arena;
}
}  // namespace

void Value::destroy(detail::BodyHeader* b, Type t) noexcept {
  detail::Arena* arena = b->arena;
  if (t == Type::kArray) {
    arena = end_container<Array>(b);
  } else if (t == Type::kObject) {
    arena = end_container<Object>(b);
  } else {  // a StringBody: trivially destructible, its bytes in the same block
    static_cast<detail::StringBody*>(b)->~StringBody();
    if (arena == nullptr) {
      ::operator delete(b);
    }
  }
  if (arena != nullptr) {
    arena->let_go();  // after the body's members let go of theirs
  }
}

void Value::become_container(Type t) {
  Value fresh = t == Type::kObject ? Value(Object()) : Value(Array());
  std::swap(head_, fresh.head_);  // only the content: this node keeps its origin
}

std::string_view Value::type_name() const noexcept {
  switch (type()) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "integer";
    case Type::kDouble:
      return "float";
    case Type::kString:
      return "string";
    case Type::kArray:
      return "array";
    case Type::kObject:
      return "object";
  }
  return "unknown";
}

std::size_t Value::size() const noexcept {
  if (is_array()) {
    return as_array().size();
  }
  if (is_object()) {
    return as_object().size();
  }
  return 0;
}

const Value* Value::find_member(std::string_view key) const noexcept {
  return is_object() ? as_object().find(key) : nullptr;
}

const Value* Value::find(const KeyPath& path) const noexcept {
  const Value* node = this;
  for (const std::string& seg : path.segments()) {
    if (node->is_object()) {
      node = node->as_object().find(seg);
    } else if (node->is_array()) {
      std::size_t idx = 0;
      if (!parse_index(seg, idx) || idx >= node->as_array().size()) {
        return nullptr;
      }
      node = &node->as_array()[idx];
    } else {
      return nullptr;
    }
    if (node == nullptr) {
      return nullptr;
    }
  }
  return node;
}

Value* Value::find_mutable(const KeyPath& path) {
  if (find(path) == nullptr) {
    return nullptr;
  }
  // Copy-on-write: unshare every container on the way down (as_object() and
  // as_array() do), or a write through the result would reach every tree
  // sharing those bodies (found by path_fuzz: erase on a copy changed the
  // original, and the manager's restart pinning could edit a layer's data).
  Value* node = this;
  for (const std::string& seg : path.segments()) {
    if (node->is_object()) {
      node = node->as_object().find(seg);
    } else {
      std::size_t idx = 0;
      (void)parse_index(seg, idx);  // valid: find() above succeeded
      node = &node->as_array()[idx];
    }
  }
  return node;
}

Value& Value::operator[](std::string_view key) {
  if (is_null()) {
    become_container(Type::kObject);
  }
  return as_object()[key];
}

Value& Value::set(const KeyPath& path, Value value) {
  Value* node = this;
  for (const std::string& seg : path.segments()) {
    if (!node->is_object()) {
      node->become_container(Type::kObject);
    }
    node = &node->as_object()[seg];
  }
  *node = std::move(value);
  return *node;
}

bool Value::erase(const KeyPath& path) {
  if (path.empty()) {
    return false;
  }
  Value* parent = find_mutable(path.parent());
  if (parent == nullptr || !parent->is_object()) {
    return false;
  }
  return parent->as_object().erase(path.back());
}

Value& Value::push_back(Value v) {
  if (is_null()) {
    become_container(Type::kArray);
  }
  as_array().push_back(std::move(v));
  return as_array().back();
}

void Value::set_origin_recursive(const Origin& origin) {
  set_origin(origin);
  if (is_array()) {
    for (Value& v : as_array()) {
      v.set_origin_recursive(origin);
    }
  } else if (is_object()) {
    Object& obj = as_object();
    for (std::size_t i = 0; i < obj.size(); ++i) {
      obj.value_at(i).set_origin_recursive(origin);
    }
  }
}

// The count's decrements are acquire-release, so an acquire load that reads 1
// synchronises with the last other holder's release: its reads are done.
bool Value::owns_body_alone() const noexcept {
  return (is_array() || is_object()) && body()->arena == nullptr &&
         body()->refs.load(std::memory_order_acquire) == 1;
}

bool Value::shares_body_with(const Value& other) const noexcept {
  return type() == other.type() && (is_array() || is_object()) && body() == other.body();
}

bool operator==(const Value& a, const Value& b) {
  if (a.type() != b.type()) {
    return false;
  }
  switch (a.type()) {
    case Value::Type::kNull:
      return true;
    case Value::Type::kBool:
      return a.as_bool() == b.as_bool();
    case Value::Type::kInt:
      return a.as_int() == b.as_int();
    case Value::Type::kDouble:
      return a.as_double() == b.as_double();
    case Value::Type::kString:
      return a.as_string() == b.as_string();
    case Value::Type::kArray:
      return a.shares_body_with(b) || std::equal(a.as_array().begin(), a.as_array().end(),
                                                 b.as_array().begin(), b.as_array().end());
    case Value::Type::kObject:
      return a.shares_body_with(b) || a.as_object() == b.as_object();
  }
  return false;
}

namespace {

void append_display(std::string& out, const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull:
      out += "null";
      break;
    case Value::Type::kBool:
      out += v.as_bool() ? "true" : "false";
      break;
    case Value::Type::kInt:
      out += std::to_string(v.as_int());
      break;
    case Value::Type::kDouble:
      out += detail::format_double(v.as_double());
      break;
    case Value::Type::kString:
      detail::append_json_string(out, v.as_string());
      break;
    case Value::Type::kArray: {
      out.push_back('[');
      bool first = true;
      for (const Value& e : v.as_array()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        append_display(out, e);
      }
      out.push_back(']');
      break;
    }
    case Value::Type::kObject: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, e] : v.as_object()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        detail::append_json_string(out, key);
        out.push_back(':');
        append_display(out, e);
      }
      out.push_back('}');
      break;
    }
  }
}

}  // namespace

std::string Value::to_display_string() const {
  std::string out;
  append_display(out, *this);
  return out;
}

std::size_t Value::node_count() const noexcept {
  std::size_t n = 1;
  if (is_array()) {
    for (const Value& v : as_array()) {
      n += v.node_count();
    }
  } else if (is_object()) {
    for (const auto& [k, v] : as_object()) {
      n += v.node_count();
    }
  }
  return n;
}

}  // namespace liveconf
