// Text helpers shared by the JSON emitter, Value::to_display_string and diffs,
// so every place that prints a value quotes and formats numbers the same way.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace liveconf::detail {

/// Appends `s` as a JSON string literal (quotes included). Control characters
/// and invalid UTF-8 bytes are escaped (\u00XX / \uFFFD) so output is always valid JSON.
void append_json_string(std::string& out, std::string_view s);

/// Shortest text that reads back as the same double ("0.1", "1e+300", "2.0").
/// Always contains '.', 'e', "inf" or "nan" so it is not mistaken for an integer.
[[nodiscard]] std::string format_double(double d);

/// std::from_chars for a double (chars_format::general), for every parser that
/// reads a number (JSON, YAML, bind's text conversions): the same grammar,
/// results and errors. libc++ (before LLVM 20) has no floating-point
/// from_chars; there the text the grammar accepts is converted by strtod_l in
/// the "C" locale.
[[nodiscard]] std::from_chars_result from_chars_double(const char* first, const char* last,
                                                       double& out);

/// The value of a hex digit, or -1 (JSON's \u escapes, the journal's key file).
[[nodiscard]] constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/// Edit distance, for "did you mean" suggestions.
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace liveconf::detail
