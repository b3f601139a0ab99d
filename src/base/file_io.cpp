#include "base/file_io.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace liveconf::detail {
namespace {

Error io(const std::filesystem::path& path, const std::string& what, int err) {
  return Error(ErrorCode::kIo, what + " " + path.string() + ": " + std::strerror(err));
}

}  // namespace

Status write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  const std::filesystem::path dir =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string tmp = (dir / ("." + path.filename().string() + ".liveconf-XXXXXX")).string();
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) {
    return io(dir, "cannot create a temporary file in", errno);
  }
  auto fail = [&](const std::string& what) -> Status {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return io(path, what, err);
  };
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    return fail("cannot fsync");
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io(path, "cannot close", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io(path, "cannot rename into", err);
  }
  // The rename is durable once the directory is.
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return ok_status();
}

Result<std::string> read_token_file(const std::filesystem::path& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return io(path, "cannot read " + std::string(what), errno);
  }
  std::ostringstream s;
  s << in.rdbuf();
  std::string token = std::move(s).str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) {
    token.pop_back();
  }
  if (token.empty()) {
    return Error(ErrorCode::kValidation, std::string(what) + " " + path.string() + " is empty");
  }
  return token;
}

}  // namespace liveconf::detail
