// Path resolution for the inotify backend (inotify_watcher.cpp): which
// directories to watch, with which masks, for one watched path.
#include "watch/inotify/inotify_dependencies.hpp"

#include <array>
#include <deque>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "watch/inotify/inotify_masks.hpp"

namespace liveconf::detail {
namespace fs = std::filesystem;
namespace {

InotifyDeps resolve(const fs::path& path, bool expand_directory);

// A conf.d directory's entries that are symlinks (conf.d/x.yaml ->
// /etc/shared/x.yaml, or a Kubernetes ConfigMap's x.yaml -> ..data/x.yaml)
// are read through the link, so their targets are watched too: an edit of
// the target changes the config. Hidden entries are skipped, as the file
// source skips them. Re-resolved with the directory on every event in it,
// so links added, removed or retargeted later are followed. A link to a
// directory is not read, but its way is watched all the same (not the
// directory's entries: no loops), so the day it leads to a file, the event
// says so.
void add_symlinked_entries(const fs::path& dir, InotifyDeps& out) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::error_code tec;
    if (name.empty() || name.front() == '.' || !entry.is_symlink(tec)) {
      continue;
    }
    for (const auto& [key, mask] : resolve(entry.path(), /*expand_directory=*/false)) {
      out[key] |= mask;
    }
  }
}

// The path's components, without the empty one a trailing slash leaves
// ("/etc/conf.d/" is the directory, not an ancestor of "") or ".".
void push_parts(const fs::path& path, std::deque<std::string>& into, bool front) {
  std::vector<std::string> parts;
  for (const auto& part : path.relative_path()) {
    if (!part.empty() && part != ".") {
      parts.push_back(part.string());
    }
  }
  into.insert(front ? into.begin() : into.end(), parts.begin(), parts.end());
}

// What a path depends on: for every directory on the way, the name of the next
// component (kAncestorMask); every symlink on the way and the final entry, in
// the directory that holds them (kLeafMask). A missing component ends the
// walk at its nearest existing directory: when it appears, we resolve again.
// `expand_directory`: a path that leads to a directory also depends on its
// entries ("*") and on what its symlinked entries lead to.
InotifyDeps resolve(const fs::path& path, bool expand_directory) {
  InotifyDeps out;
  auto add = [&](const fs::path& dir, const std::string& name, std::uint32_t mask) {
    out[{dir.string(), name}] |= mask;
  };
  std::deque<std::string> rest;
  push_parts(path.lexically_normal(), rest, /*front=*/false);
  fs::path cur = "/";
  int hops = 0;
  while (!rest.empty()) {
    const std::string name = rest.front();
    rest.pop_front();
    if (name.empty() || name == ".") {
      continue;
    }
    if (name == "..") {
      cur = cur.parent_path();
      continue;
    }
    const fs::path next = cur / name;
    struct stat st {};
    if (::lstat(next.c_str(), &st) != 0) {
      add(cur, name, kLeafMask);  // wait here for it to appear
      return out;
    }
    if (S_ISLNK(st.st_mode)) {
      add(cur, name, kLeafMask);  // a retarget shows up as events on `name`
      if (++hops > kMaxSymlinkHops) {
        return out;  // a loop: the source's read reports ELOOP
      }
      std::array<char, 4096> buf{};
      const ssize_t n = ::readlink(next.c_str(), buf.data(), buf.size() - 1);
      if (n <= 0) {
        return out;
      }
      const fs::path target(std::string(buf.data(), static_cast<std::size_t>(n)));
      push_parts(target, rest, /*front=*/true);
      if (target.is_absolute()) {
        cur = "/";
      }
      continue;
    }
    if (rest.empty() || !S_ISDIR(st.st_mode)) {
      add(cur, name, kLeafMask);
      if (rest.empty() && S_ISDIR(st.st_mode) && expand_directory) {
        add(next, "*", kLeafMask);  // a watched directory: any entry in it counts
        add_symlinked_entries(next, out);
      }
      return out;
    }
    add(cur, name, kAncestorMask);
    cur = next;
  }
  return out;
}

}  // namespace

InotifyDeps resolve_dependencies(const fs::path& path) {
  return resolve(path, /*expand_directory=*/true);
}

}  // namespace liveconf::detail
