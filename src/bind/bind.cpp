#include "liveconf/bind.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "value/text.hpp"

namespace liveconf {
namespace detail {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
    s.remove_suffix(1);
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::optional<bool> parse_bool_text(std::string_view s) noexcept {
  s = trim(s);
  for (std::string_view t : {"true", "1", "yes", "on"}) {
    if (iequals(s, t)) {
      return true;
    }
  }
  for (std::string_view f : {"false", "0", "no", "off"}) {
    if (iequals(s, f)) {
      return false;
    }
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_int_text(std::string_view s) noexcept {
  s = trim(s);
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
  }
  int base = 10;
  bool negative = false;
  std::string_view digits = s;
  if (!digits.empty() && digits.front() == '-') {
    negative = true;
    digits.remove_prefix(1);
  }
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  if (digits.empty()) {
    return std::nullopt;
  }
  std::uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) {
    return std::nullopt;
  }
  if (negative) {
    if (magnitude > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(0 - magnitude);
  }
  if (magnitude > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(magnitude);
}

std::optional<std::uint64_t> parse_uint_text(std::string_view s) noexcept {
  s = trim(s);
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
  }
  std::uint64_t out = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return out;
}

std::optional<double> parse_double_text(std::string_view s) noexcept {
  s = trim(s);
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
  }
  double out = 0;
  auto [ptr, ec] = detail::from_chars_double(s.data(), s.data() + s.size(), out);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return out;
}

std::optional<long double> parse_duration_ns(std::string_view s) noexcept {
  s = trim(s);
  if (s.empty()) {
    return std::nullopt;
  }
  bool negative = false;
  if (s.front() == '-' || s.front() == '+') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    return 0.0L;
  }
  long double total = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) != 0 || s[i] == '.')) {
      ++i;
    }
    if (i == 0) {
      return std::nullopt;
    }
    double number = 0;
    auto [ptr, ec] = detail::from_chars_double(s.data(), s.data() + i, number);
    if (ec != std::errc() || ptr != s.data() + i) {
      return std::nullopt;
    }
    s.remove_prefix(i);
    std::size_t j = 0;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])) == 0 && s[j] != '.') {
      ++j;
    }
    const std::string_view unit = s.substr(0, j);
    s.remove_prefix(j);
    long double scale = 0;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s") {
      scale = 1e3L;
    } else if (unit == "ms") {
      scale = 1e6L;
    } else if (unit == "s") {
      scale = 1e9L;
    } else if (unit == "m") {
      scale = 60e9L;
    } else if (unit == "h") {
      scale = 3600e9L;
    } else if (unit == "d") {
      scale = 86400e9L;
    } else {
      return std::nullopt;  // a unit is required: "30" alone is ambiguous
    }
    total += static_cast<long double>(number) * scale;
  }
  return negative ? -total : total;
}

std::string format_duration_ns(std::int64_t ns) {
  if (ns == 0) {
    return "0s";
  }
  struct Unit {
    std::int64_t ns;
    const char* name;
  };
  static constexpr Unit kUnits[] = {
      {86400000000000, "d"}, {3600000000000, "h"}, {60000000000, "m"}, {1000000000, "s"},
      {1000000, "ms"},       {1000, "us"},         {1, "ns"}};
  for (const Unit& u : kUnits) {
    if (ns % u.ns == 0) {
      return std::to_string(ns / u.ns) + u.name;
    }
  }
  return std::to_string(ns) + "ns";
}

std::vector<std::string> split_list_text(std::string_view s) {
  std::vector<std::string> out;
  if (trim(s).empty()) {
    return out;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = s.find(',', start);
    out.emplace_back(
        trim(s.substr(start, comma == std::string_view::npos ? s.npos : comma - start)));
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> split_map_text(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& item : split_list_text(s)) {
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return std::nullopt;
    }
    out.emplace_back(std::string(trim(std::string_view(item).substr(0, eq))),
                     std::string(trim(std::string_view(item).substr(eq + 1))));
  }
  return out;
}

std::string BindContext::describe(const Value& v) const {
  if (in_secret()) {
    return std::string(v.type_name()) + " (value hidden)";
  }
  std::string text = v.to_display_string();
  if (text.size() > 80) {
    text = text.substr(0, 77) + "...";
  }
  return std::string(v.type_name()) + " " + text;
}

KeyPath BindContext::path() const {
  std::vector<std::string> segments;
  segments.reserve(segments_.size());
  for (std::string_view s : segments_) {
    segments.emplace_back(s);
  }
  return KeyPath::from_segments(std::move(segments));
}

Error BindContext::type_error(const Value& v, std::string expected) const {
  return Error(ErrorCode::kType, std::move(expected), v.origin(), path(), "got " + describe(v));
}

Error BindContext::error(ErrorCode code, const Value& v, std::string message,
                         std::string detail) const {
  if (in_secret() && !detail.empty()) {
    detail = "got " + describe(v);
  }
  return Error(code, std::move(message), v.origin(), path(), std::move(detail));
}

void BindContext::check_unknown_keys(const Value& object, const Schema& schema) {
  if (!object.is_object()) {
    return;
  }
  for (const auto& [key, value] : object.as_object()) {
    if (schema.find(key) != nullptr) {
      continue;
    }
    std::string detail;
    std::size_t best = std::max<std::size_t>(2, key.size() / 3) + 1;
    for (const FieldInfo& candidate : schema.fields()) {
      const std::size_t d = edit_distance(key, candidate.key);
      if (d < best) {
        best = d;
        detail = "did you mean \"" + candidate.key + "\"?";
      }
    }
    KeyPath p = path().child(key);
    Error e(options_.strict ? ErrorCode::kValidation : ErrorCode::kNotFound, "unknown key",
            value.origin(), std::move(p), std::move(detail));
    if (options_.strict) {
      add_error(std::move(e));
    } else {
      add_warning(std::move(e));
    }
  }
}

}  // namespace detail

Status BindReport::status() const {
  if (errors.empty()) {
    return ok_status();
  }
  if (errors.size() == 1) {
    return errors.front();
  }
  const Error& first = errors.front();
  std::string message = first.message();
  std::string detail = first.detail();
  detail += (detail.empty() ? "" : "; ") + std::string("and ") + std::to_string(errors.size() - 1) +
            " more problem" + (errors.size() > 2 ? "s" : "");
  return Error(first.code(), std::move(message), first.origin(), first.path(), std::move(detail));
}

const FieldInfo* Schema::find(std::string_view key) const noexcept {
  for (const FieldInfo& f : fields_) {
    if (f.key == key) {
      return &f;
    }
  }
  return nullptr;
}

FieldInfo& Schema::add_field(FieldInfo info, Ops ops) {
  fields_.push_back(std::move(info));
  ops_.push_back(std::move(ops));
  return fields_.back();
}

namespace {

template <typename Fn>
void walk_fields(const Schema& schema, KeyPath& prefix, const Fn& fn) {
  for (const FieldInfo& f : schema.fields()) {
    prefix.push_back(f.key);
    fn(prefix, f);
    if (f.nested != nullptr) {
      if (f.nested_is_collection) {
        prefix.push_back("*");
      }
      walk_fields(*f.nested, prefix, fn);
      if (f.nested_is_collection) {
        prefix.pop_back();
      }
    }
    prefix.pop_back();
  }
}

}  // namespace

SensitivePaths Schema::sensitive_paths() const {
  SensitivePaths out;
  KeyPath prefix;
  walk_fields(*this, prefix, [&](const KeyPath& p, const FieldInfo& f) {
    if (f.sensitive) {
      out.add(p);
    }
  });
  return out;
}

MergePolicies Schema::merge_policies() const {
  MergePolicies out;
  KeyPath prefix;
  walk_fields(*this, prefix, [&](const KeyPath& p, const FieldInfo& f) {
    if (f.merge) {
      out.set(p, *f.merge);
    }
  });
  return out;
}

std::vector<KeyPath> Schema::restart_required_paths() const {
  std::vector<KeyPath> out;
  KeyPath prefix;
  walk_fields(*this, prefix, [&](const KeyPath& p, const FieldInfo& f) {
    if (f.reload == ReloadPolicy::kRestartRequired) {
      out.push_back(p);
    }
  });
  return out;
}

std::vector<std::pair<KeyPath, const FieldInfo*>> Schema::all_fields() const {
  std::vector<std::pair<KeyPath, const FieldInfo*>> out;
  KeyPath prefix;
  walk_fields(*this, prefix,
              [&](const KeyPath& p, const FieldInfo& f) { out.emplace_back(p, &f); });
  return out;
}

BindReport Schema::check(const Value& tree, const BindOptions& options) const {
  detail::BindContext ctx(options);
  if (!factory_) {
    ctx.add_error(Error(ErrorCode::kInternal, "schema " + type_name_ + " has no factory"));
    return ctx.report();
  }
  std::shared_ptr<void> object = factory_();
  (void)decode_into(tree, object.get(), ctx);
  return ctx.report();
}

Status Schema::decode_into(const Value& value, void* object, detail::BindContext& ctx) const {
  if (!value.is_object()) {
    Error e = ctx.type_error(value, "expected object");
    ctx.add_error(e);
    return e;
  }
  Status first;
  const std::size_t errors_at_entry = ctx.report().errors.size();
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const FieldInfo& field = fields_[i];
    const Value* member = value.find_member(field.key);
    if (member == nullptr) {
      continue;
    }
    ctx.push(field.key);
    if (field.sensitive) {
      ctx.enter_secret();
    }
    const std::size_t errors_before = ctx.report().errors.size();
    Status st = ops_[i].decode(*member, object, ctx);
    if (!st.ok()) {
      // Nested structs record their own errors; record leaf errors here.
      if (ctx.report().errors.size() == errors_before) {
        ctx.add_error(st.error());
      }
      if (first.ok()) {
        first = st;
      }
    }
    if (field.sensitive) {
      ctx.leave_secret();
    }
    ctx.pop();
  }
  ctx.check_unknown_keys(value, *this);
  // Strict mode: unknown keys found here fail this object. Only errors added
  // by this call count: an earlier sibling's error is not ours to return
  // (returning it made the caller record it a second time).
  if (first.ok() && ctx.strict() && ctx.report().errors.size() > errors_at_entry) {
    first = ctx.report().errors[errors_at_entry];
  }
  if (first.ok()) {
    for (const auto& validator : validators_) {
      Status st = validator(object);
      if (!st.ok()) {
        Error e = st.error();
        KeyPath full = ctx.path();
        for (const std::string& seg : e.path().segments()) {
          full.push_back(seg);
        }
        e.set_path(std::move(full));
        if (e.origin().empty()) {
          const Value* at = value.find(st.error().path());
          e.set_origin(at != nullptr ? at->origin() : value.origin());
        }
        ctx.add_error(e);
        if (first.ok()) {
          first = e;
        }
      }
    }
  }
  return first;
}

Value Schema::encode(const void* object) const {
  Value out = Value::object();
  out.as_object().reserve(fields_.size());
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    out.as_object().insert_or_assign(fields_[i].key, ops_[i].encode(object));
  }
  return out;
}

}  // namespace liveconf
