// Text helpers shared by the hand-written parsers and emitters (JSON, INI,
// .env) and by the YAML and TOML adapters: UTF-8 validation, BOM handling,
// line:column positions, input size limits and emitter key paths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "liveconf/format.hpp"

namespace liveconf {

namespace detail {

/// Length of the valid UTF-8 sequence starting at `p` (1-4), or 0 when the
/// bytes at `p` are not valid UTF-8 (overlong forms, surrogates, > U+10FFFF,
/// truncated sequences). `p` must be before `end`.
[[nodiscard]] std::size_t utf8_sequence_length(const char* p, const char* end) noexcept;

/// Offset of the first byte that is not part of valid UTF-8, or npos.
[[nodiscard]] std::size_t find_invalid_utf8(std::string_view text) noexcept;

/// A problem in raw text that no line-based parser accepts.
struct BadText {
  std::size_t offset;
  std::string_view message;  // "invalid UTF-8" or "unexpected NUL byte"
};
/// The first invalid UTF-8 sequence or NUL byte in `text`, if any (the INI and
/// .env parsers check this before reading lines).
[[nodiscard]] std::optional<BadText> find_bad_text(std::string_view text) noexcept;

/// `text` without a leading UTF-8 byte order mark. Every parser drops the BOM
/// before it counts positions, so line 1's columns start after it, as editors show them.
[[nodiscard]] std::string_view strip_utf8_bom(std::string_view text) noexcept;

/// A 1-based line and byte column.
struct TextPosition {
  std::uint32_t line = 1;
  std::uint32_t column = 1;
};

/// The line and column of byte `offset` in `text` (lines end at '\n'). O(offset);
/// meant for error paths and parsers that do not track lines as they scan.
[[nodiscard]] TextPosition position_of(std::string_view text, std::size_t offset) noexcept;

/// For a decimal number ("-12.5e300", ".5e-400") that std::from_chars reported
/// out of range: whether it is too large (true) rather than too small (false).
[[nodiscard]] bool decimal_overflows(std::string_view number) noexcept;

/// The kParse error for input over options.max_bytes, or ok.
[[nodiscard]] Status check_input_size(std::string_view text, const ParseOptions& options);

/// The result for a document with no content: an empty object when
/// options.allow_empty, else the kParse error "empty document".
[[nodiscard]] Result<Value> empty_document(const ParseOptions& options);

/// Saturating conversion for line/column numbers (Origin stores 32 bits).
[[nodiscard]] constexpr std::uint32_t to_position(std::size_t n) noexcept {
  return n > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<std::uint32_t>(n);
}

/// One step of the key path to the node an emitter is writing. Emitters keep a
/// chain of these on their call stack, so an error can name its path without a
/// KeyPath being built for every node.
struct EmitPath {
  const EmitPath* parent = nullptr;
  std::string_view key;   // object member key, when !is_index
  std::size_t index = 0;  // array position, when is_index
  bool is_index = false;
};

/// The KeyPath that `path` (nullptr for the root) names.
[[nodiscard]] KeyPath key_path_of(const EmitPath* path);

}  // namespace detail
}  // namespace liveconf
