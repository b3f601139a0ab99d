// Checks shared by the INI and .env targets, whose values are untyped text:
// a successful parse is an object of objects and strings that every emitting
// format (JSON, YAML, TOML) writes and reads back unchanged. Those formats'
// emitters thereby also see arbitrary keys and strings (control characters,
// quotes, line breaks) from a much simpler grammar than their own.
#pragma once

#include <string>

#include "liveconf/format.hpp"
#include "liveconf/value.hpp"

#include "fuzz_common.hpp"

namespace liveconf::fuzz {

/// Every node below the root object is an object or a string.
inline bool only_objects_and_strings(const Value& v) {
  if (v.is_string()) {
    return true;
  }
  if (!v.is_object()) {
    return false;
  }
  for (const auto& [key, member] : v.as_object()) {
    if (!only_objects_and_strings(member)) {
      return false;
    }
  }
  return true;
}

inline void check_text_tree_round_trips(const Value& tree) {
  check_display_string_is_json(tree);
  const auto never = [](const Value&, const Error&) { return false; };
  check_round_trip(*find_format("json"), tree, 2, never);
  check_round_trip(*find_format("yaml"), tree, 2, never);
  // TOML refuses (kType) only keys toml++ 3.3 would misprint; see toml_fuzz.cpp.
  check_round_trip(*find_format("toml"), tree, 2, [](const Value&, const Error& error) {
    return error.code() == ErrorCode::kType &&
           error.message().starts_with("TOML key cannot be written");
  });
}

}  // namespace liveconf::fuzz
