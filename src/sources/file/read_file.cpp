#include "sources/file/read_file.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <xxhash.h>

namespace liveconf::detail {
namespace fs = std::filesystem;

bool transient_errno(int err) noexcept {
  switch (err) {
    case EIO:
    case ENOMEM:
    case ENFILE:
    case EMFILE:
    case EAGAIN:
    case EBUSY:
    case ESTALE:
    case ETIMEDOUT:
      return true;
    default:
      return false;
  }
}

Error io_error(const fs::path& path, const std::string& source, int err, const std::string& what) {
  auto info = std::make_shared<OriginInfo>();
  info->source = source;
  info->file = path.string();
  std::string message = what;
  if (err == ELOOP) {
    message += ": too many levels of symbolic links (a symlink loop?)";
  } else if (err != 0 && err != ENOENT) {  // "file not found" says it already
    message += ": " + std::string(std::strerror(err));
  }
  const ErrorCode code = err == ENOENT          ? ErrorCode::kNotFound
                         : transient_errno(err) ? ErrorCode::kUnavailable
                                                : ErrorCode::kIo;
  return Error(code, std::move(message), Origin(std::move(info)));
}

FileStamp FileStamp::of(const struct stat& st) noexcept {
  return FileStamp{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim, st.st_nlink};
}

bool operator==(const FileStamp& a, const FileStamp& b) noexcept {
  return a.dev == b.dev && a.ino == b.ino && a.size == b.size && a.mtime.tv_sec == b.mtime.tv_sec &&
         a.mtime.tv_nsec == b.mtime.tv_nsec && a.ctime.tv_sec == b.ctime.tv_sec &&
         a.ctime.tv_nsec == b.ctime.tv_nsec;
}

std::chrono::nanoseconds settled_after_for_filesystem(std::int64_t f_type) noexcept {
  switch (f_type) {
    case 0xEF53:      // ext2/3/4
    case 0x58465342:  // xfs
    case 0x9123683E:  // btrfs
    case 0x01021994:  // tmpfs
    case 0x794C7630:  // overlayfs
    case 0xF2F52010:  // f2fs
    case 0x2FC12FC1:  // zfs
      return std::chrono::milliseconds(100);
    default:
      return std::chrono::seconds(3);
  }
}

Result<FileRead> read_file(const fs::path& path, const std::string& source, std::size_t max_bytes,
                           const FileSyscalls* syscalls,
                           std::optional<std::chrono::nanoseconds> settled_after) {
  const int fd = syscalls != nullptr && syscalls->open
                     ? syscalls->open(path.c_str(), O_RDONLY | O_CLOEXEC)
                     : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return io_error(path, source, err, err == ENOENT ? "file not found" : "cannot open file");
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);  // the clock file timestamps come from
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return io_error(path, source, errno, "cannot stat file");
  }
  if (S_ISDIR(st.st_mode)) {
    return io_error(path, source, 0, "is a directory, expected a file");
  }
  if (static_cast<std::uintmax_t>(st.st_size) > max_bytes) {
    return io_error(path, source, 0,
                    "file is " + std::to_string(st.st_size) + " bytes, over the limit of " +
                        std::to_string(max_bytes));
  }
  FileRead out;
  out.stamp = FileStamp::of(st);
  if (!settled_after) {
    struct statfs fs {};
    settled_after = ::fstatfs(fd, &fs) == 0
                        ? settled_after_for_filesystem(static_cast<std::int64_t>(fs.f_type))
                        : settled_after_for_filesystem(0);
  }
  auto ns = [](const timespec& t) {
    return std::chrono::nanoseconds(static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 +
                                    t.tv_nsec);
  };
  out.settled = ns(st.st_ctim) + *settled_after < ns(now);
  // Read straight into the result; one byte more than the size, so the
  // usual read ends with the EOF in the same call. A file that grows while
  // read is read to its end (up to the limit).
  const std::size_t most = max_bytes < SIZE_MAX ? max_bytes + 1 : max_bytes;  // detects "over"
  std::size_t len = 0;
  out.bytes.resize(std::min(static_cast<std::size_t>(st.st_size) + 1, most));
  while (true) {
    if (len == out.bytes.size()) {
      out.bytes.resize(std::min(std::max<std::size_t>(out.bytes.size() * 2, 1), most));
    }
    const std::size_t room = out.bytes.size() - len;
    const ssize_t n = syscalls != nullptr && syscalls->read
                          ? syscalls->read(fd, out.bytes.data() + len, room)
                          : ::read(fd, out.bytes.data() + len, room);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return io_error(path, source, errno, "cannot read file");
    }
    if (n == 0) {
      break;
    }
    len += static_cast<std::size_t>(n);
    if (len > max_bytes) {
      return io_error(path, source, 0,
                      "file grew over the limit of " + std::to_string(max_bytes) + " bytes");
    }
    if (S_ISREG(st.st_mode) && static_cast<std::size_t>(n) < room &&
        len == static_cast<std::size_t>(st.st_size)) {
      // Short, and exactly the size fstat gave: the end of a regular file, so
      // no second call for the EOF. (Whatever is appended after this is a
      // later version, with its own change event.) A short read that is not
      // the whole file (FUSE with direct_io, a signal) reads on.
      break;
    }
  }
  out.bytes.resize(len);
  std::array<char, 32> hex{};
  std::snprintf(hex.data(), hex.size(), "xxh3:%016llx",
                static_cast<unsigned long long>(XXH3_64bits(out.bytes.data(), out.bytes.size())));
  out.version = hex.data();
  return out;
}

}  // namespace liveconf::detail
