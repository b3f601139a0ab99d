// Seals and opens small values with a 32-byte key: libsodium's secretbox
// (XSalsa20-Poly1305), a fresh random nonce for every value, so equal secrets
// never look equal on disk. The key is read from a file the operator
// provides and wiped from memory when the box goes.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "liveconf/status.hpp"

namespace liveconf::detail {

class SecretBox {
 public:
  static constexpr std::size_t kKeyBytes = 32;
  /// The key in `path`: 32 raw bytes or 64 hex digits (whitespace around them
  /// ignored). The file must be a regular file that neither group nor others
  /// may read. Errors name the file, never its content.
  [[nodiscard]] static Result<SecretBox> from_key_file(const std::filesystem::path& path);
  SecretBox(const SecretBox& other) = default;
  SecretBox& operator=(const SecretBox& other) = default;
  ~SecretBox();

  /// nonce || MAC || ciphertext.
  [[nodiscard]] std::string seal(std::string_view plaintext) const;
  /// The plaintext, or nullopt if `sealed` was not sealed with this key or
  /// was altered.
  [[nodiscard]] std::optional<std::string> open(std::string_view sealed) const;
  /// Zeroes `s` in a way the compiler may not optimise out.
  static void wipe(std::string& s) noexcept;

 private:
  SecretBox() = default;
  std::array<unsigned char, kKeyBytes> key_{};
};

}  // namespace liveconf::detail
