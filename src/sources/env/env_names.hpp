// How environment variable names map to key paths, in one place: the env
// source (env_source.cpp) and .env files read with env-style keys
// (FileSourceOptions::env_style_keys) split and case the same way.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "liveconf/path.hpp"

namespace liveconf::detail {

// A key as it appears in a variable name: "log-level" -> "LOG_LEVEL".
std::string env_segment(std::string_view key);
// ASCII lower case: a variable's segment as a key ("PORT" -> "port").
std::string env_lower(std::string_view s);
// Splits at "__": "DB__PORT" -> {"DB", "PORT"}; "A____B" gives an empty
// segment in the middle, which the env source reports.
std::vector<std::string> split_env_segments(std::string_view name);
// split_env_segments, each lower-cased: "DB__PASSWORD" -> db.password.
KeyPath env_name_to_path(std::string_view name);

}  // namespace liveconf::detail
