// `--render PATH`: the merged config written for a program that reads a file,
// atomically (temp file in the same directory, fsync, rename, fsync of the
// directory), so a reader sees the old file or the new one, never a mix.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "liveconf/status.hpp"
#include "liveconf/value.hpp"

namespace liveconf::cli {

/// json, yaml or toml: `explicit_format` if given, else by the path's
/// extension, else json. Errors: kValidation for an unknown or non-emitting format.
[[nodiscard]] Result<std::string> render_format_for(const std::filesystem::path& path,
                                                    std::string_view explicit_format);

/// The config as text in `format`, ending with a newline.
[[nodiscard]] Result<std::string> render_text(const Value& config, std::string_view format);

}  // namespace liveconf::cli
