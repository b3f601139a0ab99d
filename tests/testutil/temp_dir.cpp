#include "testutil/temp_dir.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "liveconf/env.hpp"

namespace liveconf::testing {
namespace fs = std::filesystem;

namespace {
// Environment reads go through liveconf::get_env: env watchers may be
// reading the environment on other threads (see liveconf/env.hpp).
std::string env_or_empty(const char* name) { return get_env(name).value_or(""); }

bool under(const fs::path& path, const std::string& dir) {
  if (dir.empty()) {
    return false;
  }
  const fs::path base = fs::weakly_canonical(dir);
  const fs::path p = fs::weakly_canonical(path);
  auto mismatch = std::mismatch(base.begin(), base.end(), p.begin(), p.end());
  return mismatch.first == base.end();
}

// Editors change how they save inside temporary directories (vim's
// 'backupskip' and emacs' backup-enable-predicate skip /tmp and $TMPDIR), so
// tests of real save patterns must not run there, even when the build tree
// itself lives under /tmp (a CI checkout).
bool in_editor_temp_dir(const fs::path& p) {
  return under(p, "/tmp") || under(p, env_or_empty("TMPDIR")) || under(p, env_or_empty("TMP")) ||
         under(p, env_or_empty("TEMP"));
}

fs::path test_tmp_root() {
  if (const std::string env = env_or_empty("LIVECONF_TEST_TMPDIR"); !env.empty()) {
    return env;
  }
  const fs::path build = fs::current_path() / "test-tmp";
  if (!in_editor_temp_dir(build)) {
    return build;
  }
  for (const fs::path candidate :
       {fs::path("/var/tmp/liveconf-test-tmp"),
        fs::path(get_env("HOME").value_or("/root")) / ".cache" / "liveconf-test-tmp"}) {
    if (!in_editor_temp_dir(candidate)) {
      return candidate;
    }
  }
  return build;
}
}  // namespace

TempDir::TempDir() {
  static std::atomic<unsigned> counter{0};
  const fs::path root = test_tmp_root();
  fs::create_directories(root);
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path candidate =
        root / ("t" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) +
                "-" + std::to_string(rd() % 100000));
    std::error_code ec;
    if (fs::create_directory(candidate, ec)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory under " + root.string());
}

TempDir::~TempDir() {
  std::error_code ec;
  // Restore permissions a test may have removed so cleanup can descend.
  for (auto it = fs::recursive_directory_iterator(
           path_, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  }
  fs::remove_all(path_, ec);
}

fs::path TempDir::write(std::string_view name, std::string_view content) const {
  fs::path p = path_ / name;
  write_file(p, content);
  return p;
}

void write_file(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string all_bytes(const fs::path& dir) {
  if (fs::is_regular_file(dir)) {
    return read_file(dir).value_or("");
  }
  std::string out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      out += read_file(e.path()).value_or("");
    }
  }
  return out;
}

fs::path write_key_file(const fs::path& path) {
  std::string bytes(32, '\0');
  std::random_device rd;
  for (char& c : bytes) {
    c = static_cast<char>(rd());
  }
  write_file(path, bytes);
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  return path;
}

ScopedEnv::ScopedEnv(std::string name, std::optional<std::string> value)
    : name_(std::move(name)), saved_(get_env(name_)) {
  // Through liveconf's lock: env watchers may be reading the environment.
  const Status st = value ? set_env(name_, *value) : unset_env(name_);
  if (!st.ok()) {
    std::abort();  // a test bug: an invalid name
  }
}

ScopedEnv::~ScopedEnv() { (void)(saved_ ? set_env(name_, *saved_) : unset_env(name_)); }

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return condition();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace liveconf::testing
