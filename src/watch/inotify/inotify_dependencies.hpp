// What a watched path depends on, for the inotify backend: the directories
// on its way, the symlinks it passes through and the entry itself, each with
// the event mask that can change it. Recomputed after every relevant event.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

namespace liveconf::detail {

// (directory, name in it) -> inotify mask; name "*": any entry of a watched directory.
using InotifyDeps = std::map<std::pair<std::string, std::string>, std::uint32_t>;

// For every directory on the way, the name of the next component; every
// symlink on the way and the final entry, in the directory that holds them.
// A missing component ends the walk at its nearest existing directory.
InotifyDeps resolve_dependencies(const std::filesystem::path& path);

}  // namespace liveconf::detail
