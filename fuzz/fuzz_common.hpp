// Helpers shared by the fuzz targets: property checks that abort with a
// readable message (libFuzzer records the input as a crash; the replay
// executable fails its ctest), parse limits, and tree comparisons.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>

#include "liveconf/format.hpp"
#include "liveconf/status.hpp"
#include "liveconf/value.hpp"

namespace liveconf::fuzz {

[[noreturn]] inline void property_failed(const char* file, int line, const char* condition,
                                         const std::string& detail) {
  std::fprintf(stderr, "\n%s:%d: property violated: %s\n%s\n", file, line, condition,
               detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// Checks a property of the code under test; `detail` is only evaluated on failure.
#define LIVECONF_FUZZ_CHECK(condition, detail)                                     \
  do {                                                                             \
    if (!(condition)) {                                                            \
      ::liveconf::fuzz::property_failed(__FILE__, __LINE__, #condition, (detail)); \
    }                                                                              \
  } while (false)

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Small limits, so the fuzzer explores inputs instead of timing out on huge ones.
inline constexpr std::size_t kMaxBytes = std::size_t{1} << 20;
inline constexpr std::size_t kMaxDepth = 64;
inline constexpr std::size_t kMaxNodes = 100'000;

inline ParseOptions fuzz_parse_options(std::string file) {
  ParseOptions o;
  o.origin = make_file_origin("fuzz:" + file, std::move(file));
  o.max_bytes = kMaxBytes;
  o.max_depth = kMaxDepth;
  o.max_nodes = kMaxNodes;
  return o;
}

/// For re-parsing emitted text: the same depth and node limits (emitting keeps
/// the tree's shape), but no byte limit, because emitted text may be longer
/// than the input (YAML aliases are expanded, indentation and quotes added).
inline ParseOptions reparse_options(std::string file) {
  ParseOptions o = fuzz_parse_options(std::move(file));
  o.max_bytes = ParseOptions{}.max_bytes;
  return o;
}

/// Text for failure messages (trees can be large).
inline std::string show(const Value& v) {
  std::string s = v.to_display_string();
  if (s.size() > 4000) {
    s = s.substr(0, 4000) + "...";
  }
  return s;
}

inline std::string show_text(std::string_view s) {
  std::string out(s.substr(0, 4000));
  if (s.size() > 4000) {
    out += "...";
  }
  return out;
}

inline bool any_double(const Value& v, bool (*pred)(double)) {
  switch (v.type()) {
    case Value::Type::kDouble:
      return pred(v.as_double());
    case Value::Type::kArray:
      for (const Value& e : v.as_array()) {
        if (any_double(e, pred)) {
          return true;
        }
      }
      return false;
    case Value::Type::kObject:
      for (const auto& [key, e] : v.as_object()) {
        if (any_double(e, pred)) {
          return true;
        }
      }
      return false;
    default:
      return false;
  }
}

inline bool has_nan(const Value& v) {
  return any_double(v, [](double d) { return std::isnan(d); });
}
inline bool has_non_finite(const Value& v) {
  return any_double(v, [](double d) { return !std::isfinite(d); });
}

/// Value's operator== with NaN equal to NaN. Value compares doubles with ==
/// (so a tree holding a NaN is not equal to itself); YAML (.nan) and TOML (nan)
/// can spell one, and it must still round-trip.
inline bool same_tree(const Value& a, const Value& b) {
  if (!has_nan(a) && !has_nan(b)) {
    return a == b;
  }
  if (a.type() != b.type()) {
    return false;
  }
  switch (a.type()) {
    case Value::Type::kDouble:
      return (std::isnan(a.as_double()) && std::isnan(b.as_double())) ||
             a.as_double() == b.as_double();
    case Value::Type::kArray: {
      const std::span<const Value> x = a.as_array();
      const std::span<const Value> y = b.as_array();
      if (x.size() != y.size()) {
        return false;
      }
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!same_tree(x[i], y[i])) {
          return false;
        }
      }
      return true;
    }
    case Value::Type::kObject: {
      const Object& x = a.as_object();
      const Object& y = b.as_object();
      if (x.size() != y.size()) {
        return false;
      }
      for (const auto& [key, value] : x) {
        const Value* other = y.find(key);
        if (other == nullptr || !same_tree(value, *other)) {
          return false;
        }
      }
      return true;
    }
    default:
      return a == b;
  }
}

/// A copy that shares no container body with `v` (Value copies share bodies
/// until written), to check that writes through a copy leave the original alone.
inline Value deep_copy(const Value& v) {
  Value out;
  if (v.is_array()) {
    Value::Array elements;
    elements.reserve(v.as_array().size());
    for (const Value& e : v.as_array()) {
      elements.push_back(deep_copy(e));
    }
    out = Value(std::move(elements));
  } else if (v.is_object()) {
    Object members;
    members.reserve(v.as_object().size());
    for (const auto& [key, e] : v.as_object()) {
      members.insert(key, deep_copy(e));
    }
    out = Value(std::move(members));
  } else {
    out = v;
  }
  out.set_origin(v.origin());
  return out;
}

/// Nesting of containers: a scalar is 0, [] is 1, [[1]] is 2.
inline std::size_t depth_of(const Value& v) {
  std::size_t deepest = 0;
  if (v.is_array()) {
    for (const Value& e : v.as_array()) {
      deepest = std::max(deepest, depth_of(e));
    }
    return deepest + 1;
  }
  if (v.is_object()) {
    for (const auto& [key, e] : v.as_object()) {
      deepest = std::max(deepest, depth_of(e));
    }
    return deepest + 1;
  }
  return 0;
}

/// A successful parse respects the limits it was given.
inline void check_limits(const Value& tree, const ParseOptions& options) {
  LIVECONF_FUZZ_CHECK(tree.node_count() <= options.max_nodes,
                      std::to_string(tree.node_count()) + " nodes");
  LIVECONF_FUZZ_CHECK(depth_of(tree) <= options.max_depth,
                      "depth " + std::to_string(depth_of(tree)));
}

/// A failed parse is a kParse error (never a crash, never another code).
inline void check_parse_error(const Error& error, std::string_view text) {
  LIVECONF_FUZZ_CHECK(error.code() == ErrorCode::kParse,
                      error.to_string() + "\n--- input ---\n" + show_text(text));
}

/// Value::to_display_string() is compact JSON for finite trees: JSON reads it
/// back as the same tree. (Non-finite doubles print as nan/inf, which JSON has
/// no spelling for.)
inline void check_display_string_is_json(const Value& tree) {
  if (has_non_finite(tree)) {
    return;
  }
  const std::string text = tree.to_display_string();
  Result<Value> back = find_format("json")->parse(text, reparse_options("display.json"));
  LIVECONF_FUZZ_CHECK(back.has_value(), (back ? std::string() : back.error().to_string()) +
                                            "\n--- display string ---\n" + show_text(text));
  LIVECONF_FUZZ_CHECK(*back == tree, "--- display string ---\n" + show_text(text) +
                                         "\n--- read back ---\n" + show(*back));
}

/// Decides whether a failed emit of `tree` is a documented limitation of the
/// format (true: skip the round trip) or a bug (false).
using EmitRefusal = std::function<bool(const Value& tree, const Error& error)>;

/// emit -> parse gives the tree back, and emitting the result again gives the
/// same text (emitters are deterministic and stable).
inline void check_round_trip(const Format& format, const Value& tree, int indent,
                             const EmitRefusal& refusal_allowed) {
  Result<std::string> text = format.emit(tree, EmitOptions{indent});
  if (!text) {
    LIVECONF_FUZZ_CHECK(refusal_allowed(tree, text.error()),
                        std::string(format.name()) + " emit failed: " + text.error().to_string() +
                            "\n--- tree ---\n" + show(tree));
    return;
  }
  Result<Value> back = format.parse(*text, reparse_options("emitted"));
  LIVECONF_FUZZ_CHECK(back.has_value(), std::string(format.name()) + " indent " +
                                            std::to_string(indent) + ": emitted text does not " +
                                            "parse: " + (back ? "" : back.error().to_string()) +
                                            "\n--- tree ---\n" + show(tree) +
                                            "\n--- emitted ---\n" + show_text(*text));
  LIVECONF_FUZZ_CHECK(same_tree(*back, tree),
                      std::string(format.name()) + " indent " + std::to_string(indent) +
                          ": round trip changed the tree\n--- tree ---\n" + show(tree) +
                          "\n--- emitted ---\n" + show_text(*text) + "\n--- read back ---\n" +
                          show(*back));
  Result<std::string> again = format.emit(*back, EmitOptions{indent});
  LIVECONF_FUZZ_CHECK(again.has_value() && *again == *text,
                      std::string(format.name()) + " indent " + std::to_string(indent) +
                          ": emitting the read-back tree gives other text\n--- first ---\n" +
                          show_text(*text) + "\n--- second ---\n" +
                          (again ? show_text(*again) : again.error().to_string()));
}

}  // namespace liveconf::fuzz
