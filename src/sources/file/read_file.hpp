// Reading a whole file for a source: one open descriptor (a rename mid-read
// cannot mix two versions), a size limit checked before and during the read,
// and errors that name the file. Shared by the file source and the
// environment's secret files.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "liveconf/status.hpp"

namespace liveconf::detail {

struct FileRead {
  std::string bytes;
  std::string version;  // "xxh3:<hex>" of the bytes
};

/// An error for `path` in layer `source`: kNotFound for ENOENT, else kIo,
/// with strerror(err) appended when err != 0.
Error io_error(const std::filesystem::path& path, const std::string& source, int err,
               const std::string& what);

/// The whole file. Errors: kNotFound, kIo (unreadable, a directory, over max_bytes).
Result<FileRead> read_file(const std::filesystem::path& path, const std::string& source,
                           std::size_t max_bytes);

}  // namespace liveconf::detail
