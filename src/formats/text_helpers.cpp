#include "formats/text_helpers.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace liveconf {

namespace detail {
namespace {
bool is_dec(char c) noexcept { return c >= '0' && c <= '9'; }
}  // namespace

std::size_t utf8_sequence_length(const char* p, const char* end) noexcept {
  const auto c0 = static_cast<unsigned char>(p[0]);
  if (c0 < 0x80) {
    return 1;
  }
  const auto avail = static_cast<std::size_t>(end - p);
  const auto cont = [&](std::size_t i) {
    return (static_cast<unsigned char>(p[i]) & 0xC0) == 0x80;
  };
  // Leads C0/C1 only start overlong forms and F5..FF code points above U+10FFFF.
  if (c0 < 0xC2) {
    return 0;
  }
  if (c0 < 0xE0) {
    return avail >= 2 && cont(1) ? 2 : 0;
  }
  if (c0 < 0xF0) {
    if (avail < 3 || !cont(1) || !cont(2)) {
      return 0;
    }
    const auto c1 = static_cast<unsigned char>(p[1]);
    // E0 80..9F would be overlong; ED A0..BF would be a UTF-16 surrogate.
    if ((c0 == 0xE0 && c1 < 0xA0) || (c0 == 0xED && c1 > 0x9F)) {
      return 0;
    }
    return 3;
  }
  if (c0 < 0xF5) {
    if (avail < 4 || !cont(1) || !cont(2) || !cont(3)) {
      return 0;
    }
    const auto c1 = static_cast<unsigned char>(p[1]);
    if ((c0 == 0xF0 && c1 < 0x90) || (c0 == 0xF4 && c1 > 0x8F)) {
      return 0;
    }
    return 4;
  }
  return 0;
}

std::size_t find_invalid_utf8(std::string_view text) noexcept {
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  const char* p = begin;
  while (p != end) {
    // ASCII fast path, 8 bytes at a time.
    while (end - p >= 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, p, sizeof w);
      if ((w & 0x8080808080808080ULL) != 0) {
        break;
      }
      p += 8;
    }
    if (p == end) {
      break;
    }
    const std::size_t len = utf8_sequence_length(p, end);
    if (len == 0) {
      return static_cast<std::size_t>(p - begin);
    }
    p += len;
  }
  return std::string_view::npos;
}

std::optional<BadText> find_bad_text(std::string_view text) noexcept {
  if (const std::size_t bad = find_invalid_utf8(text); bad != std::string_view::npos) {
    return BadText{bad, "invalid UTF-8"};
  }
  if (const void* nul = std::memchr(text.data(), '\0', text.size()); nul != nullptr) {
    return BadText{static_cast<std::size_t>(static_cast<const char*>(nul) - text.data()),
                   "unexpected NUL byte"};
  }
  return std::nullopt;
}

std::string_view strip_utf8_bom(std::string_view text) noexcept {
  if (text.starts_with("\xEF\xBB\xBF")) {
    text.remove_prefix(3);
  }
  return text;
}

TextPosition position_of(std::string_view text, std::size_t offset) noexcept {
  offset = std::min(offset, text.size());
  TextPosition pos;
  std::size_t line_start = 0;
  const char* const begin = text.data();
  const char* p = begin;
  const char* const stop = begin + offset;
  while (p != stop) {
    const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(stop - p));
    if (nl == nullptr) {
      break;
    }
    p = static_cast<const char*>(nl) + 1;
    ++pos.line;
    line_start = static_cast<std::size_t>(p - begin);
  }
  pos.column = to_position(offset - line_start + 1);
  return pos;
}

// Compares the position of the first significant digit with the decimal
// point, exponent included. Called only on error paths.
bool decimal_overflows(std::string_view number) noexcept {
  const char* p = number.data();
  const char* const end = p + number.size();
  if (p != end && *p == '-') {
    ++p;
  }
  long long int_digits = 0;     // significant digits before the point
  long long leading_zeros = 0;  // zeros after the point before the first significant digit
  bool seen_significant = false;
  for (; p != end && is_dec(*p); ++p) {
    if (*p != '0' || seen_significant) {
      seen_significant = true;
      ++int_digits;
    }
  }
  if (p != end && *p == '.') {
    for (++p; p != end && is_dec(*p); ++p) {
      if (*p != '0' && !seen_significant) {
        seen_significant = true;
      } else if (!seen_significant) {
        ++leading_zeros;
      }
    }
  }
  long long exponent = 0;
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool negative = false;
    if (p != end && (*p == '+' || *p == '-')) {
      negative = *p == '-';
      ++p;
    }
    for (; p != end && is_dec(*p); ++p) {
      exponent = std::min(exponent * 10 + (*p - '0'), 1'000'000'000LL);
    }
    if (negative) {
      exponent = -exponent;
    }
  }
  const long long magnitude = int_digits > 0 ? int_digits + exponent : exponent - leading_zeros;
  return magnitude > 0;
}

Status check_input_size(std::string_view text, const ParseOptions& options) {
  if (text.size() > options.max_bytes) {
    return Error(ErrorCode::kParse,
                 "input is " + std::to_string(text.size()) + " bytes, over the limit of " +
                     std::to_string(options.max_bytes),
                 Origin(options.origin));
  }
  return ok_status();
}

Result<Value> empty_document(const ParseOptions& options) {
  if (!options.allow_empty) {
    return Error(ErrorCode::kParse, "empty document", Origin(options.origin));
  }
  Value v = Value::object();
  v.set_origin(Origin(options.origin));
  return v;
}

KeyPath key_path_of(const EmitPath* path) {
  std::vector<std::string> segments;
  for (; path != nullptr; path = path->parent) {
    segments.push_back(path->is_index ? std::to_string(path->index) : std::string(path->key));
  }
  std::reverse(segments.begin(), segments.end());
  return KeyPath::from_segments(std::move(segments));
}

}  // namespace detail

}  // namespace liveconf
