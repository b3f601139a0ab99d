// Test helpers: a fresh temporary directory per test, scoped environment
// variables, file writing, and waiting on a condition with a deadline.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace liveconf::testing {

/// A fresh directory removed (recursively) on destruction. Created under
/// $LIVECONF_TEST_TMPDIR, else the build tree's "test-tmp" -- never under /tmp
/// or $TMPDIR (then /var/tmp/liveconf-test-tmp or ~/.cache/liveconf-test-tmp):
/// vim and emacs save differently in temporary directories.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(std::string_view name) const {
    return path_ / name;
  }
  /// Writes `content` to `name` inside the directory (in place, truncating); returns its path.
  std::filesystem::path write(std::string_view name, std::string_view content) const;

 private:
  std::filesystem::path path_;
};

/// Writes a whole file in place (open, truncate, write, close).
void write_file(const std::filesystem::path& path, std::string_view content);
/// Reads a whole file; empty optional if it cannot be read.
std::optional<std::string> read_file(const std::filesystem::path& path);
/// Every byte of every regular file under `dir` (or of `dir`, a file), for
/// grepping what reached a disk.
std::string all_bytes(const std::filesystem::path& dir);
/// A fresh random 32-byte key (libsodium's secretbox) at `path`, mode 0600.
std::filesystem::path write_key_file(const std::filesystem::path& path);

/// Sets (or unsets, with nullopt) an environment variable and restores it on destruction.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, std::optional<std::string> value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> saved_;
};

/// Polls `condition` until true or `timeout` passes; returns the last result.
/// Tests wait on conditions this way instead of sleeping for a fixed time.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace liveconf::testing
