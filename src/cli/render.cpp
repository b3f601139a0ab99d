#include "cli/render.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "liveconf/format.hpp"

namespace liveconf::cli {
namespace {

Error io(const std::filesystem::path& path, const std::string& what, int err) {
  return Error(ErrorCode::kIo, what + " " + path.string() + ": " + std::strerror(err));
}

}  // namespace

Result<std::string> render_format_for(const std::filesystem::path& path,
                                      std::string_view explicit_format) {
  std::string name(explicit_format);
  if (name.empty()) {
    const Format* f = path.empty() ? nullptr : format_for_path(path.string());
    name = f != nullptr ? std::string(f->name()) : "json";
  }
  const Format* f = find_format(name);
  if (f == nullptr || !f->can_emit()) {
    return Error(ErrorCode::kValidation,
                 "cannot render as \"" + name + "\": use json, yaml or toml");
  }
  return std::string(f->name());
}

Result<std::string> render_text(const Value& config, std::string_view format) {
  const Format* f = find_format(format);
  if (f == nullptr) {
    return Error(ErrorCode::kValidation, "unknown format \"" + std::string(format) + "\"");
  }
  Result<std::string> text = f->emit(config, EmitOptions{2});
  if (text && !text->ends_with('\n')) {
    text->push_back('\n');
  }
  return text;
}

Status write_atomic(const std::filesystem::path& path, std::string_view content) {
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

}  // namespace liveconf::cli
