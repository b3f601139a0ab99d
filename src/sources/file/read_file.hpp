// Reading a whole file for a source: one open descriptor (a rename mid-read
// cannot mix two versions), a size limit checked before and during the read,
// and errors that name the file. Shared by the file source and the
// environment's secret files.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <sys/types.h>

#include "liveconf/status.hpp"

namespace liveconf::detail {

struct FileRead {
  std::string bytes;
  std::string version;  // "xxh3:<hex>" of the bytes
};

/// The two calls read_file makes, replaceable by tests to inject faults
/// (FileSourceOptions::syscalls_for_test). Unset members use ::open / ::read.
struct FileSyscalls {
  std::function<int(const char* path, int flags)> open;
  std::function<ssize_t(int fd, void* buf, std::size_t n)> read;
};

/// True for errno values a later attempt may not see: EIO, ENOMEM, ENFILE,
/// EMFILE, EAGAIN, EBUSY, ESTALE, ETIMEDOUT.
[[nodiscard]] bool transient_errno(int err) noexcept;

/// An error for `path` in layer `source`: kNotFound for ENOENT, kUnavailable
/// for a transient errno (the manager retries those), else kIo; strerror(err)
/// is appended when err != 0.
Error io_error(const std::filesystem::path& path, const std::string& source, int err,
               const std::string& what);

/// The whole file. Errors: kNotFound, kIo (unreadable, a directory, over
/// max_bytes), kUnavailable (a transient errno).
Result<FileRead> read_file(const std::filesystem::path& path, const std::string& source,
                           std::size_t max_bytes, const FileSyscalls* syscalls = nullptr);

}  // namespace liveconf::detail
