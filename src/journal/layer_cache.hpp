// A last-good copy of one source's layer on disk, for starting without the
// source (the etcd source's offline boot, docs/fleet.md). The whole file but
// its first line is sealed with libsodium's secretbox under the operator's
// key: nothing in it is readable without the key, and a flipped byte, a
// truncation or another key fails the MAC, so a damaged cache is refused,
// never half-read. The file is replaced atomically (base/file_io.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "liveconf/export.hpp"
#include "liveconf/merge.hpp"
#include "liveconf/status.hpp"

namespace liveconf::detail {

class SecretBox;

/// One cached layer and what it is a copy of.
struct CachedLayer {
  /// Which source wrote it (its kind, layout and prefix): a cache written for
  /// another source is refused.
  std::string identity;
  /// The source's own revision of this content (an etcd store revision).
  std::int64_t revision = 0;
  std::chrono::system_clock::time_point written{};
  Layer layer;  // with its origins (file:line:col, key and revision)
};

class LIVECONF_API LayerCache {
 public:
  /// The first line of every cache file (then the sealed payload).
  static constexpr std::string_view kMagic = "liveconf layer cache 1\n";

  /// A cache at `file` sealed with the key in `key_file` (32 raw bytes or 64
  /// hex digits, mode 0600). Errors name the key file, never its content.
  [[nodiscard]] static Result<LayerCache> create(std::filesystem::path file,
                                                 const std::filesystem::path& key_file);

  /// Replaces the file with `layer` (a copy of `identity`'s content at
  /// `revision`, written now), sealed. Errors: kIo naming the file.
  [[nodiscard]] Status write(std::string_view identity, std::int64_t revision,
                             const Layer& layer) const;
  /// The cached layer; nullopt when there is no file. Errors (the cache is
  /// then to be treated as absent): kIo, or kValidation naming the file and
  /// why it is not trusted (not a cache, altered or truncated, another key,
  /// another source's).
  [[nodiscard]] Result<std::optional<CachedLayer>> read(std::string_view identity) const;
  [[nodiscard]] const std::filesystem::path& file() const noexcept { return file_; }

 private:
  LayerCache(std::filesystem::path file, std::shared_ptr<const SecretBox> box);

  std::filesystem::path file_;
  std::shared_ptr<const SecretBox> box_;
};

}  // namespace liveconf::detail
