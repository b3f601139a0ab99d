#include "value/text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <system_error>
#include <vector>
#ifndef __cpp_lib_to_chars
#include <cerrno>
#include <cstdlib>
#include <locale.h>  // newlocale, strtod_l (POSIX)
#endif

namespace liveconf::detail {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if (c < 0x80) {
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1Fu;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0Fu;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07u;
  } else {
    return 0;
  }
  if (i + len > s.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (cc & 0x3Fu);
  }
  // Reject overlong forms, surrogates and out-of-range code points.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      case '\b':
        out += "\\b";
        ++i;
        continue;
      case '\f':
        out += "\\f";
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(s, i);
    if (len == 0) {
      out += "\\ufffd";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  out.push_back('"');
}

std::string format_double(double d) {
  if (std::isnan(d)) {
    return "nan";
  }
  if (std::isinf(d)) {
    return d < 0 ? "-inf" : "inf";
  }
  std::array<char, 64> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), d);
  std::string out(buf.data(), end);
  if (out.find_first_of(".eE") == std::string::npos) {
    out += ".0";
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1);
  std::vector<std::size_t> cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::from_chars_result from_chars_double(const char* first, const char* last, double& out) {
#ifdef __cpp_lib_to_chars
  return std::from_chars(first, last, out);
#else
  // Cut the input to the longest prefix from_chars would read, so strtod_l sees
  // no blanks, '+' or hex prefix that from_chars refuses.
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto lower = [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  };
  const char* p = first;
  if (p != last && *p == '-') {
    ++p;
  }
  const auto word_at = [&](const char* at, std::string_view word) {
    if (static_cast<std::size_t>(last - at) < word.size()) {
      return false;
    }
    for (std::size_t i = 0; i < word.size(); ++i) {
      if (lower(at[i]) != word[i]) {
        return false;
      }
    }
    return true;
  };
  const char* end = p;
  if (word_at(p, "infinity")) {
    end = p + 8;
  } else if (word_at(p, "inf")) {
    end = p + 3;
  } else if (word_at(p, "nan")) {
    end = p + 3;
    if (end != last && *end == '(') {
      const char* q = end + 1;
      while (q != last && (is_digit(*q) || (lower(*q) >= 'a' && lower(*q) <= 'z') || *q == '_')) {
        ++q;
      }
      if (q != last && *q == ')') {
        end = q + 1;
      }
    }
  } else {
    bool any_digit = false;
    while (end != last && is_digit(*end)) {
      ++end;
      any_digit = true;
    }
    if (end != last && *end == '.') {
      ++end;
      while (end != last && is_digit(*end)) {
        ++end;
        any_digit = true;
      }
    }
    if (!any_digit) {
      return {first, std::errc::invalid_argument};
    }
    if (end != last && (*end == 'e' || *end == 'E')) {
      const char* e = end + 1;
      if (e != last && (*e == '+' || *e == '-')) {
        ++e;
      }
      if (e != last && is_digit(*e)) {
        while (e != last && is_digit(*e)) {
          ++e;
        }
        end = e;
      }
    }
  }
  // Function-local and never changed after its initialisation: the "C" locale.
  static const locale_t c_locale = ::newlocale(LC_ALL_MASK, "C", locale_t{});
  const std::string text(first, end);
  char* parsed_end = nullptr;
  errno = 0;
  const double value = ::strtod_l(text.c_str(), &parsed_end, c_locale);
  if (parsed_end != text.c_str() + text.size()) {
    return {first, std::errc::invalid_argument};
  }
  // As libstdc++: a result that over- or underflowed to infinity or zero is out
  // of range (and `out` is left alone); a subnormal result is a value.
  if (errno == ERANGE && (value == 0 || std::isinf(value))) {
    return {end, std::errc::result_out_of_range};
  }
  out = value;
  return {end, std::errc()};
#endif
}

}  // namespace liveconf::detail
