// The text conversions behind environment, INI and .env values (bind.hpp's
// detail::parse_*_text, parse_duration_ns, split_list_text, split_map_text),
// and binding that text to typed fields of testing::EnvConfig.
//  - bool: case-insensitive; binding "debug" succeeds exactly when it parses;
//  - int: a success reads back from std::to_string, and canonical decimal
//    text ("-12", "0", no '+', no leading zeros) *is* that text; surrounding
//    whitespace changes nothing; decimal text that parses as an int parses as
//    the same unsigned (when >= 0) and as the same double; binding the int8
//    field "small" succeeds exactly when the int parses within -128..127;
//  - uint, double: a success reads back from its shortest text (NaN as NaN);
//    binding the double field "ratio" gives parse_double_text's value;
//  - duration: a success is finite; a whole number of nanoseconds up to 2^53
//    reads back from format_duration_ns exactly;
//  - list: items are trimmed and comma-free, one more than the commas (none
//    for blank text), and joining them with ',' splits back the same; binding
//    "hosts" gives exactly those items;
//  - map: keys are non-empty and free of '=' and ','; "k=v" pairs joined with
//    ',' split back the same; binding "labels" succeeds exactly when it splits.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "liveconf/bind.hpp"

#include "fuzz_common.hpp"
#include "testutil/configs.hpp"

namespace {

using namespace liveconf;
using liveconf::testing::EnvConfig;

std::string quoted(std::string_view s) { return "\"" + fuzz::show_text(s) + "\""; }

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// -?(0|[1-9][0-9]*), and not "-0": exactly what std::to_string writes.
bool canonical_decimal(std::string_view s) {
  std::string_view digits = s;
  if (!digits.empty() && digits.front() == '-') {
    digits.remove_prefix(1);
  }
  if (digits.empty() || (digits.size() > 1 && digits.front() == '0') || s == "-0") {
    return false;
  }
  for (const char c : digits) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// Optional blanks and sign, then only decimal digits: no hex.
bool plain_decimal(std::string_view s, bool allow_minus) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
  }
  if (allow_minus && !s.empty() && s.front() == '-') {
    s.remove_prefix(1);
  }
  if (s.empty()) {
    return false;
  }
  for (const char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

std::string shortest(double d) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, end);
}

bool same_double(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// from_dict<EnvConfig>({field: text}).
Result<EnvConfig> bind_field(const char* field, std::string_view text) {
  Value tree = Value::object();
  tree[field] = Value(text);
  return from_dict<EnvConfig>(tree);
}

void check_bool(std::string_view s) {
  const std::optional<bool> b = detail::parse_bool_text(s);
  std::string upper(s);
  std::string lower(s);
  for (std::size_t i = 0; i < upper.size(); ++i) {
    upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(lower[i])));
  }
  LIVECONF_FUZZ_CHECK(detail::parse_bool_text(upper) == b && detail::parse_bool_text(lower) == b,
                      quoted(s));
  const Result<EnvConfig> bound = bind_field("debug", s);
  LIVECONF_FUZZ_CHECK(bound.has_value() == b.has_value(),
                      quoted(s) + (bound ? "" : ": " + bound.error().to_string()));
  if (b) {
    LIVECONF_FUZZ_CHECK(bound->debug == *b, quoted(s));
  }
}

void check_int(std::string_view s) {
  const std::optional<std::int64_t> i = detail::parse_int_text(s);
  const std::string padded = " \t" + std::string(s) + "\n ";
  LIVECONF_FUZZ_CHECK(detail::parse_int_text(padded) == i, quoted(s));
  const Result<EnvConfig> bound = bind_field("small", s);
  const bool fits = i && *i >= -128 && *i <= 127;
  LIVECONF_FUZZ_CHECK(bound.has_value() == fits,
                      quoted(s) + (bound ? "" : ": " + bound.error().to_string()));
  if (fits) {
    LIVECONF_FUZZ_CHECK(bound->small == *i, quoted(s));
  }
  if (!i) {
    return;
  }
  const std::string text = std::to_string(*i);
  LIVECONF_FUZZ_CHECK(detail::parse_int_text(text) == i, quoted(s) + " -> " + text);
  if (canonical_decimal(s)) {
    LIVECONF_FUZZ_CHECK(text == s, quoted(s) + " -> " + text);
  }
  if (plain_decimal(s, true)) {
    const std::optional<double> d = detail::parse_double_text(s);
    LIVECONF_FUZZ_CHECK(d.has_value() && *d == static_cast<double>(*i), quoted(s));
  }
  if (*i >= 0 && plain_decimal(s, false)) {
    const std::optional<std::uint64_t> u = detail::parse_uint_text(s);
    LIVECONF_FUZZ_CHECK(u.has_value() && *u == static_cast<std::uint64_t>(*i), quoted(s));
  }
}

void check_uint(std::string_view s) {
  const std::optional<std::uint64_t> u = detail::parse_uint_text(s);
  if (u) {
    const std::string text = std::to_string(*u);
    LIVECONF_FUZZ_CHECK(detail::parse_uint_text(text) == u, quoted(s) + " -> " + text);
  }
}

void check_double(std::string_view s) {
  const std::optional<double> d = detail::parse_double_text(s);
  if (d) {
    const std::string text = shortest(*d);
    const std::optional<double> back = detail::parse_double_text(text);
    LIVECONF_FUZZ_CHECK(back.has_value() && same_double(*back, *d), quoted(s) + " -> " + text);
  }
  const Result<EnvConfig> bound = bind_field("ratio", s);
  LIVECONF_FUZZ_CHECK(bound.has_value() == d.has_value(),
                      quoted(s) + (bound ? "" : ": " + bound.error().to_string()));
  if (d) {
    LIVECONF_FUZZ_CHECK(same_double(bound->ratio, *d), quoted(s));
  }
}

void check_duration(std::string_view s) {
  const std::optional<long double> ns = detail::parse_duration_ns(s);
  (void)bind_field("timeout", s);  // milliseconds: rounding and range checks, no crash
  if (!ns) {
    return;
  }
  LIVECONF_FUZZ_CHECK(std::isfinite(*ns), quoted(s));
  constexpr long double kExact = 9007199254740992.0L;  // 2^53
  if (std::fabs(*ns) <= kExact && std::trunc(*ns) == *ns) {
    const std::string text = detail::format_duration_ns(static_cast<std::int64_t>(*ns));
    const std::optional<long double> back = detail::parse_duration_ns(text);
    LIVECONF_FUZZ_CHECK(back.has_value() && *back == *ns, quoted(s) + " -> " + text);
  }
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (i > 0 ? "," : "") + items[i];
  }
  return out;
}

void check_list(std::string_view s) {
  const std::vector<std::string> items = detail::split_list_text(s);
  const std::size_t commas = static_cast<std::size_t>(std::count(s.begin(), s.end(), ','));
  LIVECONF_FUZZ_CHECK(items.size() == (trim(s).empty() ? 0 : commas + 1), quoted(s));
  for (const std::string& item : items) {
    LIVECONF_FUZZ_CHECK(item.find(',') == std::string::npos && trim(item) == item,
                        quoted(s) + ": item " + quoted(item));
  }
  LIVECONF_FUZZ_CHECK(detail::split_list_text(join(items)) == items, quoted(s));
  const Result<EnvConfig> bound = bind_field("hosts", s);
  LIVECONF_FUZZ_CHECK(bound.has_value() && bound->hosts == items,
                      quoted(s) + (bound ? "" : ": " + bound.error().to_string()));
}

void check_map(std::string_view s) {
  const auto pairs = detail::split_map_text(s);
  const Result<EnvConfig> bound = bind_field("labels", s);
  LIVECONF_FUZZ_CHECK(bound.has_value() == pairs.has_value(),
                      quoted(s) + (bound ? "" : ": " + bound.error().to_string()));
  if (!pairs) {
    return;
  }
  LIVECONF_FUZZ_CHECK(pairs->size() == detail::split_list_text(s).size(), quoted(s));
  std::vector<std::string> items;
  std::map<std::string, std::string> last_wins;
  for (const auto& [key, value] : *pairs) {
    LIVECONF_FUZZ_CHECK(!key.empty() && key.find_first_of("=,") == std::string::npos &&
                            value.find(',') == std::string::npos,
                        quoted(s) + ": " + quoted(key) + " = " + quoted(value));
    items.push_back(key + "=" + value);
    last_wins[key] = value;
  }
  LIVECONF_FUZZ_CHECK(detail::split_map_text(join(items)) == pairs, quoted(s));
  LIVECONF_FUZZ_CHECK(bound->labels == last_wins, quoted(s));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  if (text.size() > 4096) {
    return 0;  // values are short; long inputs only slow the fuzzer down
  }
  check_bool(text);
  check_int(text);
  check_uint(text);
  check_double(text);
  check_duration(text);
  check_list(text);
  check_map(text);
  return 0;
}
