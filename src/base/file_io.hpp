// Files the library writes and reads on an operator's behalf: replacing a
// file so that readers and a crash see the old content or the new, never a
// mix (the CLI's --render, the etcd source's offline cache), and reading a
// token file (the admin endpoint's, its client's).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "liveconf/export.hpp"
#include "liveconf/status.hpp"

namespace liveconf::detail {

/// Replaces `path` with `content`: a temporary file beside it (mode 0600: it
/// may hold secrets), fsync, rename over `path`, fsync of the directory.
/// Errors: kIo naming the path and the step that failed.
[[nodiscard]] LIVECONF_API Status write_file_atomically(const std::filesystem::path& path,
                                                        std::string_view content);

/// The token in `path` without its trailing newlines. Errors name `what`
/// ("admin token file") and the path, never the content: kIo when it cannot
/// be read, kValidation when it is empty.
[[nodiscard]] LIVECONF_API Result<std::string> read_token_file(const std::filesystem::path& path,
                                                               std::string_view what);

}  // namespace liveconf::detail
