#include "testutil/save_patterns.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "liveconf/env.hpp"

#include "testutil/temp_dir.hpp"

extern char** environ;  // NOLINT: POSIX

namespace liveconf::testing {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what) {
  const int err = errno;
  throw std::runtime_error(what + ": " + std::strerror(err));
}

int open_or_throw(const fs::path& path, int flags, mode_t mode = 0644) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) {
    fail("open " + path.string());
  }
  return fd;
}

void write_all(int fd, std::string_view content, const fs::path& path) {
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("write " + path.string());
    }
    done += static_cast<std::size_t>(n);
  }
}

void close_or_throw(int fd, const fs::path& path) {
  if (::close(fd) != 0) {
    fail("close " + path.string());
  }
}

void rename_or_throw(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    fail("rename " + from.string() + " -> " + to.string());
  }
}

void unlink_or_throw(const fs::path& path) {
  if (::unlink(path.c_str()) != 0) {
    fail("unlink " + path.string());
  }
}

void chmod_or_throw(const fs::path& path, mode_t mode) {
  if (::chmod(path.c_str(), mode) != 0) {
    fail("chmod " + path.string());
  }
}

fs::path sibling(const fs::path& target, const std::string& name) {
  return target.parent_path() / name;
}

}  // namespace

void atomic_save(const fs::path& target, std::string_view content, std::string_view temp_name) {
  const fs::path tmp =
      temp_name.empty()
          ? sibling(target, "." + target.filename().string() + ".tmp" + std::to_string(::getpid()))
          : sibling(target, std::string(temp_name));
  const int fd = open_or_throw(tmp, O_WRONLY | O_CREAT | O_TRUNC);
  write_all(fd, content, tmp);
  if (::fsync(fd) != 0) {
    fail("fsync " + tmp.string());
  }
  close_or_throw(fd, tmp);
  rename_or_throw(tmp, target);
}

void write_in_place(const fs::path& target, std::string_view content) {
  const int fd = open_or_throw(target, O_WRONLY | O_CREAT | O_TRUNC);
  write_all(fd, content, target);
  close_or_throw(fd, target);
}

void slow_write_in_place(const fs::path& target, const std::vector<std::string>& chunks,
                         std::chrono::milliseconds gap) {
  const int fd = open_or_throw(target, O_WRONLY | O_CREAT | O_TRUNC);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    if (i > 0) {
      std::this_thread::sleep_for(gap);  // the writer is slow: that is the scenario
    }
    write_all(fd, chunks[i], target);
  }
  close_or_throw(fd, target);
}

void vim_save(const fs::path& target, std::string_view content) {
  vim_save(target, std::vector<std::string>{std::string(content)}, std::chrono::milliseconds(0));
}

void vim_save(const fs::path& target, const std::vector<std::string>& chunks,
              std::chrono::milliseconds gap) {
  struct stat st {};
  if (::stat(target.c_str(), &st) != 0) {
    fail("stat " + target.string());
  }
  // 1. Probe that the directory is writable.
  const fs::path probe = sibling(target, "4913");
  const int probe_fd = open_or_throw(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW);
  close_or_throw(probe_fd, probe);
  unlink_or_throw(probe);
  // 2. The original becomes the backup.
  const fs::path backup = sibling(target, target.filename().string() + "~");
  rename_or_throw(target, backup);
  // 3. A new file with the new content (vim opens without O_TRUNC: the name is free).
  const int fd = open_or_throw(target, O_WRONLY | O_CREAT, st.st_mode & 07777);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    if (i > 0) {
      std::this_thread::sleep_for(gap);  // the writer is slow: that is the scenario
    }
    write_all(fd, chunks[i], target);
  }
  if (::fsync(fd) != 0) {
    fail("fsync " + target.string());
  }
  close_or_throw(fd, target);
  // 4. Permissions/ACL restored after close (vim calls setxattr): IN_ATTRIB.
  chmod_or_throw(target, st.st_mode & 07777);
  // 5. The backup is deleted (writebackup without backup).
  unlink_or_throw(backup);
}

namespace {

fs::path emacs_lock(const fs::path& target) {
  return sibling(target, ".#" + target.filename().string());
}

void emacs_take_lock(const fs::path& target) {
  const std::string owner = "user@host." + std::to_string(::getpid());
  if (::symlink(owner.c_str(), emacs_lock(target).c_str()) != 0 && errno != EEXIST) {
    fail("symlink " + emacs_lock(target).string());
  }
}

}  // namespace

void emacs_first_save(const fs::path& target, std::string_view content) {
  struct stat st {};
  if (::stat(target.c_str(), &st) != 0) {
    fail("stat " + target.string());
  }
  emacs_take_lock(target);
  rename_or_throw(target, sibling(target, target.filename().string() + "~"));
  const int fd = open_or_throw(target, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  write_all(fd, content, target);
  close_or_throw(fd, target);
  unlink_or_throw(emacs_lock(target));
  chmod_or_throw(target, st.st_mode & 07777);
}

void emacs_later_save(const fs::path& target, std::string_view content) {
  struct stat st {};
  if (::stat(target.c_str(), &st) != 0) {
    fail("stat " + target.string());
  }
  emacs_take_lock(target);
  const int fd = open_or_throw(target, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  write_all(fd, content, target);
  close_or_throw(fd, target);
  unlink_or_throw(emacs_lock(target));
  chmod_or_throw(target, st.st_mode & 07777);
}

void jetbrains_safe_write(const fs::path& target, std::string_view content) {
  const fs::path tmp = sibling(target, target.filename().string() + "___jb_tmp___");
  const fs::path old = sibling(target, target.filename().string() + "___jb_old___");
  const int fd = open_or_throw(tmp, O_WRONLY | O_CREAT | O_TRUNC);
  write_all(fd, content, tmp);
  close_or_throw(fd, tmp);
  rename_or_throw(target, old);
  rename_or_throw(tmp, target);
  unlink_or_throw(old);
}

// --- Kubernetes AtomicWriter
// ----------------------------------------------------------------------

KubernetesAtomicWriter::KubernetesAtomicWriter(fs::path volume_dir) : dir_(std::move(volume_dir)) {}

fs::path KubernetesAtomicWriter::current_data_dir() const {
  std::error_code ec;
  const fs::path target = fs::read_symlink(dir_ / "..data", ec);
  return ec ? fs::path() : dir_ / target;
}

void KubernetesAtomicWriter::write(const std::map<std::string, std::string>& payload) {
  const fs::path data = dir_ / "..data";
  const fs::path old_ts = current_data_dir();

  // 1. A new timestamped directory (Go: MkdirTemp(dir, "..2006_01_02_15_04_05.")).
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char stamp[64];
  std::strftime(stamp, sizeof stamp, "..%Y_%m_%d_%H_%M_%S.", &tm);
  const std::string ts_name =
      std::string(stamp) + std::to_string(::getpid()) + std::to_string(++counter_);
  const fs::path ts_dir = dir_ / ts_name;
  if (::mkdir(ts_dir.c_str(), 0755) != 0) {
    fail("mkdir " + ts_dir.string());
  }
  for (const auto& [key, content] : payload) {
    const fs::path file = ts_dir / key;
    const int fd = open_or_throw(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write_all(fd, content, file);
    close_or_throw(fd, file);
    chmod_or_throw(file, 0644);
  }
  // 2. + 3. ..data_tmp -> new dir, renamed over ..data.
  const fs::path data_tmp = dir_ / "..data_tmp";
  if (::symlink(ts_name.c_str(), data_tmp.c_str()) != 0) {
    fail("symlink " + data_tmp.string());
  }
  rename_or_throw(data_tmp, data);
  // 4. User-visible symlinks, created once.
  for (const auto& [key, content] : payload) {
    const fs::path visible = dir_ / key;
    struct stat st {};
    if (::lstat(visible.c_str(), &st) != 0) {
      const std::string link = "..data/" + key;
      if (::symlink(link.c_str(), visible.c_str()) != 0) {
        fail("symlink " + visible.string());
      }
    }
  }
  // 5. Keys that disappeared lose their symlink; the old directory goes.
  if (!old_ts.empty()) {
    for (const auto& entry : fs::directory_iterator(old_ts)) {
      const std::string key = entry.path().filename().string();
      if (payload.find(key) == payload.end()) {
        std::error_code ec;
        fs::remove(dir_ / key, ec);
      }
    }
    fs::remove_all(old_ts);
  }
}

// --- Programs and descriptors -------------------------------------------------------------------

bool program_available(std::string_view program) {
  const std::string path = get_env("PATH").value_or("/usr/bin:/bin");
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = path.find(':', start);
    const std::string dir = path.substr(start, end == std::string::npos ? end : end - start);
    if (!dir.empty()) {
      const fs::path candidate = fs::path(dir) / program;
      if (::access(candidate.c_str(), X_OK) == 0) {
        return true;
      }
    }
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return false;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const fs::path& cwd,
                           const fs::path& output) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));  // NOLINT: posix_spawn's signature
  }
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  const std::string out = output.empty() ? std::string("/dev/null") : output.string();
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  if (!cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  }
  const int rc = ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    errno = rc;
    pid_ = -1;
    fail("posix_spawnp " + argv[0]);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) {
    return std::nullopt;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
      }
      if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
      }
      return std::nullopt;
    }
    if (r < 0 && errno != EINTR) {
      pid_ = -1;
      return std::nullopt;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int run_program(const std::vector<std::string>& argv, const fs::path& cwd, const fs::path& output,
                std::chrono::milliseconds timeout) {
  ChildProcess child(argv, cwd, output);
  return child.wait(timeout).value_or(-1);
}

std::size_t count_open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    ++n;
  }
  return n > 0 ? n - 1 : 0;  // minus the directory iterator's own descriptor
}

std::size_t count_inotify_fds() {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const fs::path target = fs::read_symlink(entry.path(), ec);
    if (!ec && target.string() == "anon_inode:inotify") {
      ++n;
    }
  }
  return n;
}

std::size_t count_kernel_inotify_watches() {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const fs::path target = fs::read_symlink(entry.path(), ec);
    if (ec || target.string() != "anon_inode:inotify") {
      continue;
    }
    const std::optional<std::string> info =
        read_file(fs::path("/proc/self/fdinfo") / entry.path().filename());
    if (!info) {
      continue;
    }
    for (std::size_t pos = info->find("inotify wd:"); pos != std::string::npos;
         pos = info->find("inotify wd:", pos + 1)) {
      ++n;
    }
  }
  return n;
}

std::string save_with_pattern(const fs::path& target, std::string_view content, int pattern) {
  if (!fs::exists(target)) {
    if (pattern % 2 == 0) {
      atomic_save(target, content);
      return "atomic";
    }
    write_file(target, content);
    return "create";
  }
  switch (pattern) {
    case 0:
      atomic_save(target, content);
      return "atomic";
    case 1:
      write_in_place(target, content);
      return "in place";
    case 2:
      vim_save(target, content);
      return "vim";
    case 3:
      jetbrains_safe_write(target, content);
      return "jetbrains";
    case 4:
      emacs_later_save(target, content);
      return "emacs";
    default:
      fs::remove(target);
      write_file(target, content);
      return "delete+create";
  }
}

}  // namespace liveconf::testing
