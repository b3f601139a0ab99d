// The journal's binary encoding: little-endian varints and length-prefixed
// strings, and Value trees with their origins. A tree's origins are written
// once, in a table at the head of the record, and nodes refer to them by
// index; values at sensitive paths are sealed (or left out) one scalar at a
// time, so a masked reading keeps the tree's shape as mask_sensitive does.
// Decoding never trusts its input: every read is bounds-checked and a
// failure latches (ByteReader::ok), as leveldb's decoders do.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "liveconf/diff.hpp"
#include "liveconf/status.hpp"
#include "liveconf/value.hpp"

#include "journal/secret_box.hpp"

namespace liveconf::detail {

class ByteWriter {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void varint(std::uint64_t v);
  void svarint(std::int64_t v) {
    varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void fixed64(std::uint64_t v);
  void str(std::string_view s) {
    varint(s.size());
    out_.append(s);
  }
  [[nodiscard]] std::string& buffer() noexcept { return out_; }

 private:
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  std::uint8_t u8();
  std::uint64_t varint();
  std::int64_t svarint() {
    const std::uint64_t z = varint();
    return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  std::uint64_t fixed64();
  std::string_view str();
  /// False once any read ran past the end or found a malformed varint.
  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] bool done() const noexcept { return in_.empty(); }
  void fail() noexcept {
    ok_ = false;
    in_ = {};
  }

 private:
  std::string_view in_;
  bool ok_ = true;
};

/// Writes trees, collecting their origins into one table.
class TreeEncoder {
 public:
  /// `box` seals sensitive scalars; null leaves them out.
  explicit TreeEncoder(const SecretBox* box) : box_(box) {}
  /// Encodes `v` (at `path`; scalars at paths `sensitive` matches are sealed)
  /// into `out`.
  void encode(ByteWriter& out, const Value& v, const SensitivePaths* sensitive, KeyPath& path);
  void encode(ByteWriter& out, const Value& v) {
    KeyPath root;
    encode(out, v, nullptr, root);
  }
  /// The origin table, to be written before the trees that refer to it.
  void write_origins(ByteWriter& out) const;
  [[nodiscard]] bool left_out_secrets() const noexcept { return left_out_; }

 private:
  std::uint64_t origin_ref(const Origin& o);

  const SecretBox* box_;
  std::vector<const OriginInfo*> infos_;
  std::unordered_map<const OriginInfo*, std::uint64_t> index_;
  bool left_out_ = false;
};

/// Reads trees written by TreeEncoder.
class TreeDecoder {
 public:
  enum class Secrets : std::uint8_t {
    kMask,    // every secret reads as "***"; no key needed
    kUnseal,  // every secret is unsealed with the box, or decoding fails
  };
  TreeDecoder(const SecretBox* box, Secrets secrets) : box_(box), secrets_(secrets) {}
  /// Reads the origin table.
  [[nodiscard]] bool read_origins(ByteReader& in);
  /// A tree, or nullopt with error() set.
  [[nodiscard]] std::optional<Value> decode(ByteReader& in);
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  std::optional<Value> decode_node(ByteReader& in, int depth);
  bool fail(std::string message);

  const SecretBox* box_;
  Secrets secrets_;
  std::vector<std::shared_ptr<const OriginInfo>> infos_;
  std::string error_;
};

}  // namespace liveconf::detail
