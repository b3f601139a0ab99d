// Replacing a file so that readers and a crash see the old content or the
// new, never a mix: the CLI's --render, the etcd source's offline cache.
#pragma once

#include <filesystem>
#include <string_view>

#include "liveconf/export.hpp"
#include "liveconf/status.hpp"

namespace liveconf::detail {

/// Replaces `path` with `content`: a temporary file beside it (mode 0600: it
/// may hold secrets), fsync, rename over `path`, fsync of the directory.
/// Errors: kIo naming the path and the step that failed.
[[nodiscard]] LIVECONF_API Status write_file_atomically(const std::filesystem::path& path,
                                                        std::string_view content);

}  // namespace liveconf::detail
