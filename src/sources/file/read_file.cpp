#include "sources/file/read_file.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
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

Result<FileRead> read_file(const fs::path& path, const std::string& source, std::size_t max_bytes,
                           const FileSyscalls* syscalls) {
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
  out.bytes.reserve(static_cast<std::size_t>(st.st_size));
  std::array<char, 65536> buf{};
  while (true) {
    const ssize_t n = syscalls != nullptr && syscalls->read
                          ? syscalls->read(fd, buf.data(), buf.size())
                          : ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return io_error(path, source, errno, "cannot read file");
    }
    if (n == 0) {
      break;
    }
    out.bytes.append(buf.data(), static_cast<std::size_t>(n));
    if (out.bytes.size() > max_bytes) {
      return io_error(path, source, 0,
                      "file grew over the limit of " + std::to_string(max_bytes) + " bytes");
    }
  }
  std::array<char, 32> hex{};
  std::snprintf(hex.data(), hex.size(), "xxh3:%016llx",
                static_cast<unsigned long long>(XXH3_64bits(out.bytes.data(), out.bytes.size())));
  out.version = hex.data();
  return out;
}

}  // namespace liveconf::detail
