// Reading a whole file for a source: one open descriptor (a rename mid-read
// cannot mix two versions), a size limit checked before and during the read,
// and errors that name the file. Shared by the file source and the
// environment's secret files.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <sys/types.h>

#include "liveconf/status.hpp"

namespace liveconf::detail {

/// What stat() says about a file's identity and its last change.
struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{};
  timespec ctime{};
  // Not compared: more than one name for the file, so it can change without
  // an event in this directory (a hard link written elsewhere).
  nlink_t links = 0;

  [[nodiscard]] static FileStamp of(const struct stat& st) noexcept;
  friend bool operator==(const FileStamp& a, const FileStamp& b) noexcept;
};

struct FileRead {
  std::string bytes;
  std::string version;  // "xxh3:<hex>" of the bytes
  FileStamp stamp;      // of the descriptor read, taken before reading
  // The file's last change (ctime) was well before the read: a later write
  // must give it a newer ctime, so an equal stamp later means equal bytes.
  // (Not so for a file changed within the timestamp granularity of the read:
  // a second write in the same clock tick could keep the stamp.)
  bool settled = false;
};

/// How far a file's last change (ctime) must be behind the clock for the
/// file to count as settled: beyond its filesystem's timestamp granularity
/// (git's "racily clean" rule guards against the same thing). Local
/// filesystems that stamp nanoseconds from the kernel clock (ext4, xfs,
/// btrfs, tmpfs, overlayfs, f2fs, zfs) are at most a tick coarse, so 100 ms;
/// any other (network, FAT with its 2 s, FUSE) 3 s.
[[nodiscard]] std::chrono::nanoseconds settled_after_for_filesystem(std::int64_t f_type) noexcept;

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
/// `settled_after`: see FileRead::settled; by default, what the file's
/// filesystem needs (settled_after_for_filesystem).
Result<FileRead> read_file(const std::filesystem::path& path, const std::string& source,
                           std::size_t max_bytes, const FileSyscalls* syscalls = nullptr,
                           std::optional<std::chrono::nanoseconds> settled_after = std::nullopt);

}  // namespace liveconf::detail
