#include "formats/yaml/yaml_schema.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <system_error>

#include "formats/text_helpers.hpp"
#include "value/text.hpp"

namespace liveconf::detail::yaml {
namespace {

bool all_of(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}
bool is_dec(char c) { return c >= '0' && c <= '9'; }
bool is_oct(char c) { return c >= '0' && c <= '7'; }
bool is_hex(char c) { return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

bool is_null_word(std::string_view s) noexcept {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> bool_word(std::string_view s) noexcept {
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  return std::nullopt;
}

IntMatch match_int(std::string_view s, std::int64_t& out) {
  int base = 10;
  std::string_view digits = s;
  bool negative = false;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    base = s[1] == 'o' ? 8 : 16;
    digits = s.substr(2);
    if (!all_of(digits, base == 8 ? is_oct : is_hex)) {
      return IntMatch::kNo;
    }
    std::uint64_t u = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), u, base);
    if (ec != std::errc() || u > static_cast<std::uint64_t>(INT64_MAX)) {
      return IntMatch::kRadixOverflow;
    }
    out = static_cast<std::int64_t>(u);
    return IntMatch::kYes;
  }
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (!all_of(digits, is_dec)) {
    return IntMatch::kNo;
  }
  // from_chars takes a '-' but not a '+': parse the sign ourselves.
  std::string buffer;
  std::string_view text = digits;
  if (negative) {
    buffer = "-";
    buffer.append(digits);
    text = buffer;
  }
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() ? IntMatch::kYes : IntMatch::kDecimalOverflow;
}

FloatMatch match_float(std::string_view s, double& out, bool allow_int_form) {
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body == ".inf" || body == ".Inf" || body == ".INF") {
    out = negative ? -HUGE_VAL : HUGE_VAL;
    return FloatMatch::kYes;
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    out = std::nan("");
    return FloatMatch::kYes;
  }
  // [0-9]* ( \. [0-9]* )? ( [eE] [-+]? [0-9]+ )?, with a digit in the mantissa.
  std::size_t i = 0;
  std::size_t mantissa_digits = 0;
  while (i < body.size() && is_dec(body[i])) {
    ++i;
    ++mantissa_digits;
  }
  bool has_point = false;
  if (i < body.size() && body[i] == '.') {
    has_point = true;
    ++i;
    while (i < body.size() && is_dec(body[i])) {
      ++i;
      ++mantissa_digits;
    }
  }
  if (mantissa_digits == 0) {
    return FloatMatch::kNo;
  }
  bool has_exponent = false;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    has_exponent = true;
    ++i;
    if (i < body.size() && (body[i] == '-' || body[i] == '+')) {
      ++i;
    }
    const std::size_t exponent_start = i;
    while (i < body.size() && is_dec(body[i])) {
      ++i;
    }
    if (i == exponent_start) {
      return FloatMatch::kNo;
    }
  }
  if (i != body.size() || (!has_point && !has_exponent && !allow_int_form)) {
    return FloatMatch::kNo;
  }
  const auto [ptr, ec] = detail::from_chars_double(body.data(), body.data() + body.size(), out);
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports both overflow and underflow; underflow reads as zero.
    if (detail::decimal_overflows(body)) {
      return FloatMatch::kOverflow;
    }
    out = 0.0;
  } else if (ec != std::errc() || ptr != body.data() + body.size()) {
    return FloatMatch::kNo;
  }
  if (negative) {
    out = -out;
  }
  return FloatMatch::kYes;
}

bool resolve_plain(std::string_view s, Value& out, std::string& message) {
  if (is_null_word(s)) {
    out = Value();
    return true;
  }
  if (const std::optional<bool> b = bool_word(s)) {
    out = Value(*b);
    return true;
  }
  // Every core-schema number starts with a digit, a sign or a dot.
  const char c = s[0];
  if (!is_dec(c) && c != '-' && c != '+' && c != '.') {
    out = Value(std::string(s));
    return true;
  }
  std::int64_t i = 0;
  switch (match_int(s, i)) {
    case IntMatch::kYes:
      out = Value(i);
      return true;
    case IntMatch::kRadixOverflow:
      message = "integer " + std::string(s) + " is out of the 64-bit range";
      return false;
    case IntMatch::kDecimalOverflow:
    case IntMatch::kNo:
      break;
  }
  double d = 0;
  switch (match_float(s, d, true)) {
    case FloatMatch::kYes:
      out = Value(d);
      return true;
    case FloatMatch::kOverflow:
      message = "number " + std::string(s) + " is out of the range of a double";
      return false;
    case FloatMatch::kNo:
      break;
  }
  out = Value(std::string(s));
  return true;
}

bool needs_quotes(std::string_view s) {
  if (s.empty() || s == "<<") {
    return true;
  }
  Value probe;
  std::string ignored;
  if (!resolve_plain(s, probe, ignored) || !probe.is_string()) {
    return true;
  }
  static constexpr std::array<std::string_view, 16> kYaml11Bools = {
      "y",  "Y",  "yes", "Yes", "YES", "n",   "N",   "no",
      "No", "NO", "on",  "On",  "ON",  "off", "Off", "OFF"};
  if (std::find(kYaml11Bools.begin(), kYaml11Bools.end(), s) != kYaml11Bools.end()) {
    return true;
  }
  const char c = s[0];
  if (is_dec(c) || c == '-' || c == '+' || c == '.') {
    return std::all_of(s.begin(), s.end(), [](char ch) {
      return is_dec(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
             ch == '.' || ch == ':' || ch == '+' || ch == '-' || ch == ' ';
    });
  }
  return false;
}

}  // namespace liveconf::detail::yaml
