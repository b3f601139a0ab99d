#include "journal/codec.hpp"

#include <bit>
#include <cstring>
#include <utility>

namespace liveconf::detail {
namespace {

// Node tags. Stable: they are on disk.
enum Tag : std::uint8_t {
  kNull = 0,
  kFalse = 1,
  kTrue = 2,
  kInt = 3,
  kDouble = 4,
  kString = 5,
  kArray = 6,
  kObject = 7,
  kSealed = 8,   // a sensitive scalar, sealed with the journal's key
  kLeftOut = 9,  // a sensitive scalar left out (no key)
};

constexpr int kMaxDepth = 512;  // deeper than any parser lets a tree grow

}  // namespace

void ByteWriter::varint(std::uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

void ByteWriter::fixed64(std::uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out_.push_back(static_cast<char>(v >> (8 * i)));
  }
}

std::uint8_t ByteReader::u8() {
  if (in_.empty()) {
    fail();
    return 0;
  }
  const auto v = static_cast<std::uint8_t>(in_.front());
  in_.remove_prefix(1);
  return v;
}

std::uint64_t ByteReader::varint() {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in_.empty()) {
      break;
    }
    const auto b = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      return v;
    }
  }
  fail();
  return 0;
}

std::uint64_t ByteReader::fixed64() {
  if (in_.size() < 8) {
    fail();
    return 0;
  }
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(in_[i])) << (8 * i);
  }
  in_.remove_prefix(8);
  return v;
}

std::string_view ByteReader::str() {
  const std::uint64_t n = varint();
  if (n > in_.size()) {
    fail();
    return {};
  }
  std::string_view s = in_.substr(0, n);
  in_.remove_prefix(n);
  return s;
}

std::uint64_t TreeEncoder::origin_ref(const Origin& o) {
  const OriginInfo* info = o.info().get();
  if (info == nullptr) {
    return 0;
  }
  auto [it, added] = index_.try_emplace(info, infos_.size() + 1);
  if (added) {
    infos_.push_back(info);
  }
  return it->second;
}

void TreeEncoder::write_origins(ByteWriter& out) const {
  out.varint(infos_.size());
  for (const OriginInfo* info : infos_) {
    out.str(info->source);
    out.str(info->file);
    out.str(info->env_var);
    out.str(info->remote_key);
    out.svarint(info->revision);
  }
}

void TreeEncoder::encode(ByteWriter& out, const Value& v, const SensitivePaths* sensitive,
                         KeyPath& path) {
  const bool secret = sensitive != nullptr && v.is_scalar() && sensitive->matches(path);
  if (secret) {
    if (box_ != nullptr) {
      ByteWriter plain;
      encode(plain, v);  // the scalar and its position, sealed together
      out.u8(kSealed);
      out.varint(origin_ref(v.origin()));
      out.str(box_->seal(plain.buffer()));
      SecretBox::wipe(plain.buffer());
    } else {
      out.u8(kLeftOut);
      out.varint(origin_ref(v.origin()));
      left_out_ = true;
    }
    return;
  }
  switch (v.type()) {
    case Value::Type::kNull:
      out.u8(kNull);
      break;
    case Value::Type::kBool:
      out.u8(v.as_bool() ? kTrue : kFalse);
      break;
    case Value::Type::kInt:
      out.u8(kInt);
      break;
    case Value::Type::kDouble:
      out.u8(kDouble);
      break;
    case Value::Type::kString:
      out.u8(kString);
      break;
    case Value::Type::kArray:
      out.u8(kArray);
      break;
    case Value::Type::kObject:
      out.u8(kObject);
      break;
  }
  out.varint(origin_ref(v.origin()));
  out.varint(v.origin().line());
  out.varint(v.origin().column());
  switch (v.type()) {
    case Value::Type::kInt:
      out.svarint(v.as_int());
      break;
    case Value::Type::kDouble:
      out.fixed64(std::bit_cast<std::uint64_t>(v.as_double()));
      break;
    case Value::Type::kString:
      out.str(v.as_string());
      break;
    case Value::Type::kArray: {
      const std::span<const Value> a = v.as_array();
      out.varint(a.size());
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (sensitive != nullptr) {
          path.push_back(std::to_string(i));
        }
        encode(out, a[i], sensitive, path);
        if (sensitive != nullptr) {
          path.pop_back();
        }
      }
      break;
    }
    case Value::Type::kObject: {
      const Object& o = v.as_object();
      out.varint(o.size());
      for (const auto& [key, member] : o) {
        out.str(key);
        if (sensitive != nullptr) {
          path.push_back(key);
        }
        encode(out, member, sensitive, path);
        if (sensitive != nullptr) {
          path.pop_back();
        }
      }
      break;
    }
    default:
      break;
  }
}

bool TreeDecoder::fail(std::string message) {
  if (error_.empty()) {
    error_ = std::move(message);
  }
  return false;
}

bool TreeDecoder::read_origins(ByteReader& in) {
  const std::uint64_t n = in.varint();
  for (std::uint64_t i = 0; i < n && in.ok(); ++i) {
    auto info = std::make_shared<OriginInfo>();
    info->source = std::string(in.str());
    info->file = std::string(in.str());
    info->env_var = std::string(in.str());
    info->remote_key = std::string(in.str());
    info->revision = in.svarint();
    infos_.push_back(std::move(info));
  }
  return in.ok() || fail("truncated origin table");
}

std::optional<Value> TreeDecoder::decode(ByteReader& in) {
  std::optional<Value> v = decode_node(in, 0);
  if (!in.ok()) {
    fail("truncated tree");
    return std::nullopt;
  }
  return v;
}

std::optional<Value> TreeDecoder::decode_node(ByteReader& in, int depth) {
  if (depth > kMaxDepth) {
    fail("tree nested deeper than " + std::to_string(kMaxDepth));
    return std::nullopt;
  }
  const std::uint8_t tag = in.u8();
  const std::uint64_t ref = in.varint();
  if (!in.ok() || ref > infos_.size()) {
    fail("bad node");
    return std::nullopt;
  }
  std::shared_ptr<const OriginInfo> info = ref == 0 ? nullptr : infos_[ref - 1];
  if (tag == kSealed || tag == kLeftOut) {
    const std::string_view sealed = tag == kSealed ? in.str() : std::string_view();
    if (!in.ok()) {
      fail("bad node");
      return std::nullopt;
    }
    if (secrets_ == Secrets::kMask) {
      Value masked("***");
      masked.set_origin(Origin(std::move(info)));
      return masked;
    }
    if (tag == kLeftOut) {
      fail("its secret values were left out (the journal has no key)");
      return std::nullopt;
    }
    std::optional<std::string> plain = box_ ? box_->open(sealed) : std::nullopt;
    if (!plain) {
      fail(box_ ? "its secret values were sealed with another key"
                : "its secret values are sealed and no key was given");
      return std::nullopt;
    }
    ByteReader inner(*plain);
    std::optional<Value> v = decode_node(inner, depth + 1);
    if (!inner.ok() || !inner.done()) {
      fail("bad sealed value");
      return std::nullopt;
    }
    return v;
  }
  const auto line = static_cast<std::uint32_t>(in.varint());
  const auto column = static_cast<std::uint32_t>(in.varint());
  Value v;
  switch (tag) {
    case kNull:
      break;
    case kFalse:
    case kTrue:
      v = Value(tag == kTrue);
      break;
    case kInt:
      v = Value(in.svarint());
      break;
    case kDouble:
      v = Value(std::bit_cast<double>(in.fixed64()));
      break;
    case kString:
      v = Value(std::string(in.str()));
      break;
    case kArray: {
      const std::uint64_t n = in.varint();
      Value::Array a;
      for (std::uint64_t i = 0; i < n && in.ok(); ++i) {
        std::optional<Value> e = decode_node(in, depth + 1);
        if (!e) {
          return std::nullopt;
        }
        a.push_back(std::move(*e));
      }
      v = Value(std::move(a));
      break;
    }
    case kObject: {
      const std::uint64_t n = in.varint();
      Object o;
      for (std::uint64_t i = 0; i < n && in.ok(); ++i) {
        std::string key(in.str());
        std::optional<Value> e = decode_node(in, depth + 1);
        if (!e) {
          return std::nullopt;
        }
        if (!o.insert(std::move(key), std::move(*e)).second) {
          fail("duplicate key");
          return std::nullopt;
        }
      }
      v = Value(std::move(o));
      break;
    }
    default:
      fail("unknown node tag " + std::to_string(tag));
      return std::nullopt;
  }
  if (!in.ok()) {
    fail("truncated tree");
    return std::nullopt;
  }
  v.set_origin(Origin(std::move(info), line, column));
  return v;
}

}  // namespace liveconf::detail
